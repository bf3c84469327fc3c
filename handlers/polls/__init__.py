"""Polls (bình chọn): creating, voting, results and closing."""
