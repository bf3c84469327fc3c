"""Board announcements (/thongbao) and the buttons on a delivery job's progress message."""
