"""Registering pledges (/thidua) as one form: the titles the member may register for, the
reasons for the others, the personal commitment; the same checks, saving, audit and receipt
as the chat (handlers/emulation/campaign.py)."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response

from bot import textutil
from bot.webui.pages import WebRequest
from handlers import registry
from handlers.emulation.campaign import (
    FORM_PAGE,
    cap_info,
    file_pledges,
    ineligible_reason,
    read_commitment,
    receipt,
    review_day,
)
from models import emulation, units

pages = registry.pages
pages.template_folder("emulation", Path(__file__).parent / "templates")


@pages.page(
    FORM_PAGE,
    access="member",
    title_key="emu.web.title",
    chat_replies=True,
    offered=lambda ctx: ctx.member is not None,
)
async def pledge_form(web: WebRequest) -> Response:
    ctx, t = web.ctx, web.t
    member = ctx.member
    if member is None:  # a config admin who never registered
        return web.render("message.html", text=t("profile.none"))
    unit = await units.get(ctx.session, member.unit_id)
    campaign = await emulation.open_for(ctx.session, unit, ctx.now) if unit else None
    if campaign is None:
        return web.render("message.html", text=t("emu.none_open"))
    assert campaign.id is not None and member.id is not None
    pledged = await emulation.pledges_of(ctx.session, campaign.id, member.id)
    mine = [p.title_code for p in pledged]
    shown = [x for x in campaign.titles if x["kind"] != "collective" and not x.get("removed")]
    chosen, commitment = mine, pledged[0].commitment if pledged else ""
    problem = done = ""
    if web.method == "POST":
        picked = set(web.values("title"))
        # Titles taken out after the member pledged them are kept, as in chat.
        kept = {c for c in mine if (x := campaign.title(c)) is not None and x.get("removed")}
        offered = {x["code"] for x in shown}
        chosen = [x["code"] for x in campaign.titles if x["code"] in (picked & offered) | kept]
        commitment = web.value("commitment").strip()
        try:
            commitment = read_commitment(commitment) if commitment else ""
        except textutil.InvalidInput as bad:
            problem = t(bad.key, **bad.params)
        if not problem:
            problem = await file_pledges(ctx, campaign, chosen, commitment) or ""
        if not problem:
            ctx.reply(receipt(ctx.t, campaign, chosen, commitment))  # the chat confirms
            done = receipt(t, campaign, chosen, commitment)
    on = review_day(campaign.year)
    titles = []
    for title in shown:
        key, params = ineligible_reason(title, member, on)
        about = [x for x in (title.get("description"), cap_info(t, campaign, title)) if x]
        titles.append(
            {
                "code": title["code"],
                "name": title["name"],
                "about": "; ".join(about),
                "reason": t(key, **params) if key else "",
                "checked": title["code"] in chosen,
            }
        )
    deadline = t.date(campaign.deadline.astimezone(t.tz).date())
    return web.render(
        "emulation/pledges.html",
        year=campaign.year,
        deadline=deadline,
        titles=titles,
        commitment=commitment,
        problem=problem,
        done=done,
        status=422 if problem else 200,
    )
