"""/thidua_baocao: registration progress per unit and per title against the targets, as a text
table, a bar chart and an .xlsx the board can hand to the upper-level union."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from bot.chat import Document, Message
from bot.context import Context
from handlers import registry
from handlers.emulation import target_text
from handlers.members import XLSX
from models import emulation, units
from models.emulation import Campaign
from models.units import Unit

MAX_UNITS_IN_TEXT = 30


def pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def summarise(
    campaign: Campaign, root: Unit, all_units: list[Unit], stats: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """Totals per title and per top-level unit (each child of the CĐCS with its subtree)."""
    by_id = {u.id: u for u in all_units}
    groups: dict[int, dict[str, Any]] = {}
    totals: dict[str, Any] = {
        "members": 0,
        "women": 0,
        "titles": {},
        "women_titles": {},
        "reached": {},
    }
    for unit_id, entry in stats.items():
        unit = by_id.get(unit_id)
        if unit is None:
            continue
        parts = [int(p) for p in unit.path.strip("/").split("/") if p]
        depth = len([int(p) for p in root.path.strip("/").split("/") if p])
        top = parts[depth] if len(parts) > depth else root.id
        group = groups.setdefault(top, {"members": 0, "women": 0, "titles": {}})  # type: ignore[arg-type]
        for target in (group, totals):
            target["members"] += entry["members"]
            target["women"] += entry["women"]
            for code, n in entry["titles"].items():
                target["titles"][code] = target["titles"].get(code, 0) + n
        for key in ("women_titles", "reached"):
            for code, n in entry[key].items():
                totals[key][code] = totals[key].get(code, 0) + n
    return {"totals": totals, "groups": {by_id[k].name: v for k, v in groups.items() if k in by_id}}


def target_status(target: dict[str, Any], totals: dict[str, Any]) -> tuple[float, bool | None]:
    """(current figure, met?) — met is None while a reached-share target awaits the review."""
    code, value = target["title"], float(target["value"])
    if target["measure"] == "min_count":
        count = totals["titles"].get(code, 0)
        return count, count >= value
    base = totals["women"] if target.get("among") == "women" else totals["members"]
    if target["measure"] == "registered_share":
        got = totals["women_titles" if target.get("among") == "women" else "titles"].get(code, 0)
        share = pct(got, base)
        return share, share >= value
    reached = totals["reached"].get(code, 0)
    return pct(reached, base), (pct(reached, base) >= value) if reached else None


def report_text(t: Any, campaign: Campaign, root: Unit, summary: dict[str, Any]) -> str:
    totals = summary["totals"]
    names = {x["code"]: x["name"] for x in campaign.titles}
    lines = [
        t("emu.report.title", year=campaign.year, unit=root.name),
        t("emu.report.members", members=t.number(totals["members"])),
    ]
    lines += ["", t("emu.report.by_title")]
    for title in campaign.titles:
        if title["kind"] == "collective":
            continue
        base = totals["women"] if title.get("gender") == "nu" else totals["members"]
        got = totals["titles"].get(title["code"], 0)
        lines.append(f"• {title['name']}: {t.number(got)}/{t.number(base)} ({pct(got, base):.0f}%)")
    lines += ["", t("emu.report.by_unit")]
    groups = sorted(summary["groups"].items())
    if len(groups) > MAX_UNITS_IN_TEXT:  # a chat message stays readable; the file has all
        lines.append(t("emu.report.more_units", shown=MAX_UNITS_IN_TEXT, total=len(groups)))
        groups = groups[:MAX_UNITS_IN_TEXT]
    for name, group in groups:
        registered = max(group["titles"].values(), default=0)
        lines.append(
            f"• {name}: {t.number(group['members'])} ĐV · "
            + ", ".join(f"{code} {n}" for code, n in sorted(group["titles"].items()))
            if registered
            else f"• {name}: {t.number(group['members'])} ĐV · " + t("emu.report.none")
        )
    if campaign.targets:
        lines += ["", t("emu.targets_title")]
        for target in campaign.targets:
            figure, met = target_status(target, totals)
            mark = "✅" if met else ("⏳" if met is None else "⚠️")
            shown = f"{figure:.0f}" if target["measure"] == "min_count" else f"{figure:.0f}%"
            lines.append(f"{mark} {target_text(t, target, names)} — {t('emu.report.now')}: {shown}")
    return "\n".join(lines)


def chart_png(t: Any, campaign: Campaign, summary: dict[str, Any]) -> bytes:
    # Imported here: matplotlib takes most of a second to load, and only reports need it.
    import matplotlib

    matplotlib.use("Agg")  # no screen on a server
    import matplotlib.pyplot as plt

    totals = summary["totals"]
    titles = [x for x in campaign.titles if x["kind"] != "collective"]
    shares = []
    for title in titles:
        base = totals["women"] if title.get("gender") == "nu" else totals["members"]
        shares.append(pct(totals["titles"].get(title["code"], 0), base))
    goals = {g["title"]: float(g["value"]) for g in campaign.targets if g["measure"] != "min_count"}
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(titles) + 1.5), dpi=110)
    labels = [x["name"] for x in titles]
    bars = ax.barh(labels, shares, color="#2f6db5")
    for bar, share in zip(bars, shares, strict=True):
        ax.text(
            min(share + 1, 96),
            bar.get_y() + bar.get_height() / 2,
            f"{share:.0f}%",
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


async def workbook(
    session: Any, t: Any, campaign: Campaign, root: Unit, summary: dict[str, Any]
) -> bytes:
    # Write-only mode streams rows: a CĐCS can have a hundred thousand members.
    wb = Workbook(write_only=True)
    titles = [x for x in campaign.titles if x["kind"] != "collective"]
    bold = Font(bold=True)
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
    ws.append(
        [
            _cell(ws, h, bold, PatternFill("solid", fgColor="DDEBF7"))
            for h in [t("xlsx.col.unit"), t("emu.xlsx.members"), *[x["name"] for x in titles]]
        ]
    )
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
    people = wb.create_sheet(t("emu.xlsx.members_sheet")[:31])
    people.append(
        [
            t("xlsx.col.no"),
            t("xlsx.col.full_name"),
            t("xlsx.col.unit_code"),
            *[x["code"] for x in titles],
        ]
    )
    unit_codes = {u.id: u.code for u in await units.subtree(session, root)}
    for number, (_, name, unit_id, codes) in enumerate(
        await emulation.member_rows(session, campaign, root), start=1
    ):
        people.append(
            [
                number,
                name,
                unit_codes.get(unit_id, ""),
                *["x" if x["code"] in codes else "" for x in titles],
            ]
        )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


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
    roots = await ctx.board_roots()
    campaign = None
    root = None
    for candidate in roots:
        campaign = await emulation.latest_for(ctx.session, candidate)
        if campaign is not None:
            root = await units.get(ctx.session, campaign.unit_id)
            break
    if campaign is None or root is None:
        ctx.reply(ctx.t("emu.none_open"))
        return
    stats = await emulation.unit_stats(ctx.session, campaign, root)
    summary = summarise(campaign, root, list(await units.subtree(ctx.session, root)), stats)
    ctx.audit("emulation_report", target=f"campaign:{campaign.id}")
    ctx.reply(report_text(ctx.t, campaign, root, summary))
    ctx.reply(
        Message(
            ctx.t("emu.chart.caption"),
            image=Document(
                f"thi-dua-{campaign.year}.png", chart_png(ctx.t, campaign, summary), "image/png"
            ),
        )
    )
    ctx.reply(
        Message(
            ctx.t("emu.xlsx.caption", year=campaign.year),
            document=Document(
                f"dang-ky-thi-dua-{campaign.year}-{root.code}.xlsx",
                await workbook(ctx.session, ctx.t, campaign, root, summary),
                XLSX,
            ),
        )
    )
