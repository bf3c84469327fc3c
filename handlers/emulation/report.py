"""/thidua_baocao: registration progress per unit and per title against the targets, as a text
table, a bar chart and an .xlsx the board can hand to the upper-level union."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat import Address, Document, Message
from bot.context import Context, Outgoing
from bot.spreadsheet import text_cell
from bot.textutil import fold_input
from handlers import registry
from handlers.emulation.campaign import percent, short_name, target_text
from handlers.emulation.settings import DEFAULT_LEADER_TITLES
from handlers.members.listing import XLSX
from models import emulation, units
from models.emulation import Campaign, ReportRow, UnitPledge
from models.units import Unit

log = logging.getLogger(__name__)
MAX_UNITS_IN_TEXT = 30
# Spreadsheets being built now: (app, chat, campaign).
_BUILDING: set[tuple[Any, ...]] = set()


def pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _entry() -> dict[str, Any]:
    return {
        "members": 0,
        "women": 0,
        "titles": {},
        "women_titles": {},
        "reached": {},
        "decided": {},
    }


def summarise(
    campaign: Campaign, root: Unit, all_units: list[Unit], stats: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """Totals per title and per top-level unit (each child of the CĐCS with its subtree)."""
    assert root.id is not None
    by_id = {u.id: u for u in all_units}
    depth = len(root.path.strip("/").split("/"))
    groups: dict[int, dict[str, Any]] = {}
    totals = _entry()
    for unit_id, entry in stats.items():
        unit = by_id.get(unit_id)
        if unit is None:
            continue
        parts = [int(p) for p in unit.path.strip("/").split("/") if p]
        top = parts[depth] if len(parts) > depth else root.id
        group = groups.setdefault(top, _entry())
        for target in (group, totals):
            target["members"] += entry["members"]
            target["women"] += entry["women"]
            for key in ("titles", "women_titles", "reached", "decided"):
                for code, n in entry.get(key, {}).items():
                    target[key][code] = target[key].get(code, 0) + n
    return {"totals": totals, "groups": {by_id[k].name: v for k, v in groups.items() if k in by_id}}


def leader_keys(leader_titles: list[str]) -> list[str]:
    return [key for key in (fold_input(x) for x in leader_titles) if key]


def is_leader(job_title: str | None, keys: list[str]) -> bool:
    """Whether a job title (chức vụ) is a leader's or manager's: it begins with one of the
    configured leader titles, accents, case and punctuation aside."""
    job = fold_input(job_title or "")
    return bool(job) and any(job == key or job.startswith(key + " ") for key in keys)


def target_status(
    t: Any, target: dict[str, Any], totals: dict[str, Any], reviewing: bool
) -> tuple[str, bool | None]:
    """(current figure as text, met?) — met is None (⏳) while the target waits for the
    review. Targets on reached titles count those the board found to have reached them, with
    the registration figure beside; the non-leader share counts the awards by job title."""
    measure, code, value = target["measure"], target.get("title") or "", float(target["value"])
    women = target.get("among") == "women"
    base = totals["women"] if women else totals["members"]
    registered = totals["women_titles" if women else "titles"].get(code, 0)
    if measure == "registered_share":
        share = pct(registered, base)
        return percent(t, share), share >= value
    if measure == "non_leader_share":
        awards = totals.get("awards", {})
        picked = [awards.get(code, [0, 0])] if code else list(awards.values())
        total, others = sum(a[0] for a in picked), sum(a[1] for a in picked)
        if not total:
            return t("emu.report.no_awards"), None
        share = pct(others, total)
        shown = t(
            "emu.report.awards_now",
            share=percent(t, share),
            others=t.number(others),
            awards=t.number(total),
        )
        return shown, share >= value
    reached = totals["reached"].get(code, 0)
    if measure == "min_count":
        shown = t(
            "emu.report.count_now", reached=t.number(reached), registered=t.number(registered)
        )
        met, possible = reached >= value, registered >= value
    else:  # reached_share
        shown = t(
            "emu.report.share_now",
            reached=percent(t, pct(reached, base)),
            registered=percent(t, pct(registered, base)),
        )
        met, possible = pct(reached, base) >= value, pct(registered, base) >= value
    if met:
        return shown, True
    if not reviewing:
        return shown, None  # registration still runs: nothing to judge yet
    if possible and totals["decided"].get(code, 0) < registered:
        return shown, None  # the review is not finished and the target can still be met
    return shown, False


def by_title(campaign: Campaign, totals: dict[str, Any]) -> list[tuple[dict[str, Any], int, int]]:
    """(title, registered, whom it is for) of each individual title, in the campaign's order:
    a women's title counts among the women members."""
    return [
        (
            title,
            totals["titles"].get(title["code"], 0),
            totals["women"] if title.get("gender") == "nu" else totals["members"],
        )
        for title in campaign.titles
        if title["kind"] != "collective"
    ]


def live_targets(campaign: Campaign) -> list[dict[str, Any]]:
    """The targets that still apply: a title the board took out takes its target along."""
    return [
        target
        for target in campaign.targets
        if not (campaign.title(target.get("title") or "") or {}).get("removed")
    ]


def title_label(t: Any, title: dict[str, Any]) -> str:
    """A title's name, flagged when the board took it out of the campaign after launch."""
    return title["name"] + (f" ({t('emu.removed_flag')})" if title.get("removed") else "")


def report_text(
    t: Any,
    campaign: Campaign,
    root: Unit,
    summary: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> str:
    """The chat table. `extra` carries the people who left after pledging, the collective
    pledges and whether the review has started."""
    extra = extra or {}
    totals = summary["totals"]
    names = {x["code"]: x["name"] for x in campaign.titles}
    lines = [
        t("emu.report.title", year=campaign.year, unit=root.name),
        t("emu.report.members", members=t.number(totals["members"])),
    ]
    lines += ["", t("emu.report.by_title")]
    for title, got, base in by_title(campaign, totals):
        share = percent(t, pct(got, base))
        lines.append(f"• {title_label(t, title)}: {t.number(got)}/{t.number(base)} ({share})")
    if extra.get("left"):
        lines.append(t("emu.report.left", count=t.number(extra["left"])))
    collective = [x for x in campaign.titles if x["kind"] == "collective"]
    if collective:
        lines += ["", t("emu.report.collective")]
        for title in collective:
            pledged = [n for code, n in extra.get("unit_pledges", []) if code == title["code"]]
            lines.append(
                f"• {title_label(t, title)}: "
                + (", ".join(pledged) if pledged else t("emu.report.none"))
            )
    lines += ["", t("emu.report.by_unit")]
    groups = sorted(summary["groups"].items())
    if len(groups) > MAX_UNITS_IN_TEXT:  # a chat message stays readable; the file has all
        lines.append(t("emu.report.more_units", shown=MAX_UNITS_IN_TEXT, total=len(groups)))
        groups = groups[:MAX_UNITS_IN_TEXT]
    order = {x["code"]: i for i, x in enumerate(campaign.titles)}
    shorts = {x["code"]: short_name(x) for x in campaign.titles}
    for name, group in groups:
        head = f"• {name}: {t.number(group['members'])} ĐV · "
        # short names (LĐTT, GVN-ĐVN) in the campaign's order: a line per unit stays short
        counts = sorted(group["titles"].items(), key=lambda item: order.get(item[0], 99))
        lines.append(
            head + ", ".join(f"{shorts.get(code, code)} {t.number(n)}" for code, n in counts)
            if counts
            else head + t("emu.report.none")
        )
    if extra.get("reviewing"):
        lines += ["", t("emu.report.review")]
        for title in campaign.titles:
            code = title["code"]
            if title["kind"] == "collective" or not totals["titles"].get(code):
                continue
            got, reached = totals["titles"][code], totals["reached"].get(code, 0)
            lines.append(
                t(
                    "emu.report.review_line",
                    title=title["name"],
                    reached=t.number(reached),
                    registered=t.number(got),
                    share=percent(t, pct(reached, got)),
                )
            )
    if campaign.targets:
        lines += ["", t("emu.targets_title")]
        for target in live_targets(campaign):
            shown, met = target_status(t, target, totals, bool(extra.get("reviewing")))
            mark = "✅" if met else ("⏳" if met is None else "⚠️")
            lines.append(f"{mark} {target_text(t, target, names)} — {t('emu.report.now')}: {shown}")
    return "\n".join(lines)


def chart_png(t: Any, campaign: Campaign, summary: dict[str, Any]) -> bytes:
    # Imported here: matplotlib takes most of a second to load, and only reports need it.
    import matplotlib

    matplotlib.use("Agg")  # no screen on a server
    import matplotlib.pyplot as plt

    counted = by_title(campaign, summary["totals"])
    titles = [title for title, _, _ in counted]
    shares = [pct(got, base) for _, got, base in counted]
    goals = {  # the share targets of a title (a count, or the non-leader share, is no mark)
        g["title"]: float(g["value"])
        for g in campaign.targets
        if g["measure"] in ("registered_share", "reached_share")
    }
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(titles) + 1.5), dpi=110)
    labels = [x["name"] for x in titles]
    bars = ax.barh(labels, shares, color="#2f6db5")
    for bar, share in zip(bars, shares, strict=True):
        ax.text(
            min(share + 1, 96),
            bar.get_y() + bar.get_height() / 2,
            percent(t, share),
            va="center",
            fontsize=9,
        )
    for index, title in enumerate(titles):
        if title["code"] in goals:
            ax.plot(
                [goals[title["code"]]] * 2, [index - 0.4, index + 0.4], color="#d62728", linewidth=2
            )
    ax.set_xlim(0, 105)  # room for a 100 % target mark
    ax.invert_yaxis()
    ax.set_xlabel(t("emu.chart.xlabel"))
    ax.set_title(t("emu.chart.title", year=campaign.year))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


@dataclass
class Report:
    campaign: Campaign
    root: Unit
    text: str
    chart: bytes
    # The spreadsheet, built on demand with a database session: it is the slow part (seconds
    # for 100,000 members), so the text and chart need not wait for it.
    make_xlsx: Callable[[AsyncSession], Awaitable[bytes]]


@dataclass
class Figures:
    """What the report counts, from the per-unit statistics (two GROUP BY queries): the
    chat's text and chart and the web's progress page are all drawn from it."""

    summary: dict[str, Any]
    # The people who left after pledging, the collective pledges, whether the review began.
    extra: dict[str, Any]
    tree: list[Unit]
    pledged_units: list[tuple[UnitPledge, Unit]]


async def report_figures(
    session: AsyncSession,
    campaign: Campaign,
    root: Unit,
    now: datetime,
    leader_titles: list[str] | None = None,
) -> Figures:
    """`leader_titles` (config `emulation.leader_titles`) tell the awards to leaders from the
    others."""
    tree = list(await units.subtree(session, root))
    by_id = {u.id: u for u in tree}
    summary = summarise(campaign, root, tree, await emulation.unit_stats(session, campaign, root))
    keys = leader_keys(DEFAULT_LEADER_TITLES if leader_titles is None else leader_titles)
    awards: dict[str, list[int]] = {}  # title -> [awarded at the review, to non-leaders]
    for job, code, count in await emulation.awards_by_job(session, campaign, root):
        entry = awards.setdefault(code, [0, 0])
        entry[0] += count
        entry[1] += 0 if is_leader(job, keys) else count
    summary["totals"]["awards"] = awards
    assert campaign.id is not None
    pledged_units = [
        (p, by_id[p.unit_id])
        for p in await emulation.unit_pledges(session, campaign.id)
        if p.unit_id in by_id
    ]
    extra = {
        "left": await emulation.left_with_pledges(session, campaign, root),
        "unit_pledges": [(p.title_code, u.name) for p, u in pledged_units],
        # the review has begun once a result is recorded (or the deadline has passed)
        "reviewing": now >= campaign.deadline or any(summary["totals"]["decided"].values()),
    }
    return Figures(summary, extra, tree, pledged_units)


async def report_xlsx(
    reader: AsyncSession, t: Any, campaign: Campaign, root: Unit, figures: Figures
) -> bytes:
    """The report's spreadsheet: every person's row read now, the workbook written off the
    event loop, so the bot keeps answering meanwhile."""
    rows = await emulation.report_rows(reader, campaign, root)
    return await asyncio.to_thread(
        workbook, t, campaign, root, figures.summary, rows, figures.tree, figures.pledged_units
    )


async def build_report(
    session: AsyncSession,
    t: Any,
    campaign: Campaign,
    root: Unit,
    now: datetime,
    leader_titles: list[str] | None = None,
) -> Report:
    """Text and chart from the report's figures; the spreadsheet's hundred thousand rows are
    read and written later, by `make_xlsx`."""
    figures = await report_figures(session, campaign, root, now, leader_titles)

    async def make_xlsx(reader: AsyncSession) -> bytes:
        return await report_xlsx(reader, t, campaign, root, figures)

    text = report_text(t, campaign, root, figures.summary, figures.extra)
    return Report(campaign, root, text, chart_png(t, campaign, figures.summary), make_xlsx)


def workbook(
    t: Any,
    campaign: Campaign,
    root: Unit,
    summary: dict[str, Any],
    rows: list[ReportRow],
    tree: list[Unit],
    pledged_units: list[tuple[UnitPledge, Unit]],
) -> bytes:
    # Write-only mode streams rows: a CĐCS can have a hundred thousand members.
    wb = Workbook(write_only=True)
    titles = [x for x in campaign.titles if x["kind"] != "collective"]
    names = {x["code"]: x["name"] for x in campaign.titles}
    ws = wb.create_sheet(t("emu.xlsx.summary")[:31])
    ws.append(
        [
            _cell(
                ws,
                t("emu.report.title", year=campaign.year, unit=root.name),
                Font(bold=True, size=13),
            )
        ]
    )
    _header(ws, [t("xlsx.col.unit"), t("emu.xlsx.members"), *[title_label(t, x) for x in titles]])
    for name, group in sorted(summary["groups"].items()):
        ws.append([name, group["members"], *[group["titles"].get(x["code"], 0) for x in titles]])
    totals = summary["totals"]
    ws.append(
        [
            t("emu.xlsx.total"),
            totals["members"],
            *[totals["titles"].get(x["code"], 0) for x in titles],
        ]
    )
    # One row per person, the layout of a "danh sách đăng ký thi đua": the titles by their
    # short names in one column (the legend sheet gives the full names), the member's written
    # commitment, results once the review has begun.
    people = wb.create_sheet(t("emu.xlsx.members_sheet")[:31])
    _header(
        people,
        [
            t("xlsx.col.no"),
            t("xlsx.col.full_name"),
            t("xlsx.col.unit_code"),
            t("emu.xlsx.titles"),
            t("emu.xlsx.commitment"),
            t("emu.xlsx.results"),
            t("emu.xlsx.note"),
        ],
    )
    codes = {u.id: u.code for u in tree}
    results = {"dat": t("emu.result.dat"), "chua_dat": t("emu.result.chua_dat")}
    left = t("emu.xlsx.left")
    order = {x["code"]: i for i, x in enumerate(campaign.titles)}
    shorts = {x["code"]: short_name(x) for x in campaign.titles}

    def in_order(found: list[str]) -> list[str]:
        return sorted(found, key=lambda c: order.get(c, 99))

    for number, row in enumerate(rows, start=1):
        decided = [
            f"{shorts.get(c, c)}: {results[row.decided[c]]}"
            for c in in_order(list(row.decided))
            if row.decided[c] in results
        ]
        people.append(
            [
                number,
                text_cell(people, row.name),
                codes.get(row.unit_id, ""),
                ", ".join(shorts.get(c, c) for c in in_order(row.codes)) or None,
                text_cell(people, row.commitment) if row.commitment else None,
                "; ".join(decided) or None,
                None if row.active else left,
            ]
        )
    _review_sheet(wb, t, tree, rows, titles)
    collective = wb.create_sheet(t("emu.xlsx.collective_sheet")[:31])
    _header(
        collective,
        [
            t("xlsx.col.unit_code"),
            t("xlsx.col.unit"),
            t("emu.xlsx.title"),
            t("emu.xlsx.commitment"),
            t("emu.xlsx.results"),
        ],
    )
    for pledge, unit in pledged_units:
        collective.append(
            [
                unit.code,
                unit.name,
                names.get(pledge.title_code, pledge.title_code),
                text_cell(collective, pledge.commitment),
                results.get(pledge.result or "", ""),
            ]
        )
    legend = wb.create_sheet(t("emu.xlsx.legend_sheet")[:31])
    _header(legend, [t("emu.xlsx.code"), t("emu.xlsx.short"), t("emu.xlsx.title")])
    for title in campaign.titles:
        legend.append([title["code"], short_name(title), title_label(t, title)])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _review_sheet(
    wb: Workbook, t: Any, tree: list[Unit], rows: list[ReportRow], titles: list[dict]
) -> None:
    """Year-end review summary: per unit and title, registered and reached."""
    counts: dict[int, dict[str, list[int]]] = {}
    for row in rows:
        if not row.active:
            continue
        per_title = counts.setdefault(row.unit_id, {})
        for code in row.codes:
            per_title.setdefault(code, [0, 0])[0] += 1
        for code, decided in row.decided.items():
            per_title.setdefault(code, [0, 0])[1] += decided == "dat"
    ws = wb.create_sheet(t("emu.xlsx.review_sheet")[:31])
    header = [t("xlsx.col.unit_code"), t("xlsx.col.unit")]
    for title in titles:
        short = short_name(title)
        header += [f"{short} — {t('emu.xlsx.registered')}", f"{short} — ✓"]
    _header(ws, header)
    for unit in tree:
        assert unit.id is not None
        unit_counts = counts.get(unit.id)
        if not unit_counts:
            continue
        line: list[Any] = [unit.code, unit.name]
        for title in titles:
            line += unit_counts.get(title["code"], [0, 0])
        ws.append(line)


def _header(ws: Any, labels: list[str]) -> None:
    fill = PatternFill("solid", fgColor="DDEBF7")
    ws.append([_cell(ws, label, Font(bold=True), fill) for label in labels])


def _cell(ws: Any, value: str, font: Font, fill: PatternFill | None = None) -> Any:
    cell = WriteOnlyCell(ws, value=value)
    cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell


@registry.command(
    "thidua_baocao", access="board", where="private", help_key="help.cmd.thidua_baocao", menu=True
)
async def report(ctx: Context) -> None:
    found = await campaign_of_board(ctx)
    if found is None:
        ctx.reply(ctx.t("emu.none_open"))
        return
    campaign, root = found
    ctx.audit("emulation_report", target=f"campaign:{campaign.id}")
    done = await build_report(
        ctx.session, ctx.t, campaign, root, ctx.now, ctx.app.settings.emulation.leader_titles
    )
    send_report(ctx, done)
    # The spreadsheet follows a few seconds later, built off the event loop, one at a time
    # per chat and campaign (typing the command five times builds it once).
    address = Address(ctx.event.platform, ctx.event.chat_id)
    busy = (id(ctx.app), address, campaign.id)
    if busy in _BUILDING:
        ctx.reply(ctx.t("emu.xlsx.building"))
        return
    _BUILDING.add(busy)
    ctx.followups.append(lambda: _send_spreadsheet(ctx.app, address, ctx.t, done, busy))


async def campaign_of_board(ctx: Context) -> tuple[Campaign, Unit] | None:
    """The latest campaign of a CĐCS this board member manages."""
    for candidate in await ctx.board_roots():
        campaign = await emulation.latest_for(ctx.session, candidate)
        if campaign is not None:
            root = await units.get(ctx.session, campaign.unit_id)
            if root is not None:
                return campaign, root
    return None


def send_report(ctx: Context, done: Report) -> None:
    ctx.reply(done.text)
    ctx.reply(
        Message(
            ctx.t("emu.chart.caption"),
            image=Document(f"thi-dua-{done.campaign.year}.png", done.chart, "image/png"),
        )
    )


async def _send_spreadsheet(
    app: Any, address: Address, t: Any, done: Report, busy: tuple[Any, ...]
) -> None:
    year = done.campaign.year
    try:
        async with app.db.session() as session:
            content = await done.make_xlsx(session)
    except Exception:
        log.exception("emulation spreadsheet failed")
        await app.deliver([Outgoing(address, Message(t("emu.xlsx.failed")))])
        return
    finally:
        _BUILDING.discard(busy)
    name = f"dang-ky-thi-dua-{year}-{done.root.code}.xlsx"
    message = Message(t("emu.xlsx.caption", year=year), document=Document(name, content, XLSX))
    await app.deliver([Outgoing(address, message)])
