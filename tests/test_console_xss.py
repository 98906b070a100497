"""Script in any text a person types stays text: markup payloads in every text field of the item
form (and the body), an account's name and department, a return comment and a release's
cancellation reason are shown escaped on every page that shows them — never as markup."""
from __future__ import annotations

import re
from pathlib import Path

from aiohttp import FormData

from content.accounts import Role
from content.itemform import fields_for
from tests.console_support import add_account, client, console, page_csrf, sign_in

PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(2)>')
LIVE = re.compile(r"<script>alert|<img src=x onerror|<svg onload|href=\"javascript:", re.I)


def payload(n: int) -> str:
    return f"第{n}项" + "".join(PAYLOADS)


def form(fields: dict[str, str]) -> FormData:
    data = FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    return data


async def test_payloads_in_every_field_are_inert_where_they_are_shown(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, _), client(svc) as c:
        for login, role in (("zuo", Role.AUTHOR), ("shen", Role.REVIEWER), ("guan", Role.ADMIN),
                            ("qian", Role.APPROVER)):
            await add_account(svc, login, role)
        await sign_in(c, "zuo")
        token = await page_csrf(c, "/console/items/new?kind=policy")
        fields = {"_csrf": token, "kind": "policy", "do": "save_submit", "issued": "2026-03-01",
                  "body": "正文" + "".join(PAYLOADS) + '<svg onload=alert(3)>\n\n[链接](javascript:alert(4))'}
        for n, f in enumerate(fields_for("policy")):
            if f.widget in ("text", "textarea"):
                fields[f.name] = payload(n)
        fields.update(index_no="11000000/2026-00001", interpretation="none", tags="政务公开、" + "、".join(PAYLOADS))
        r = await c.post("/console/items/new", data=form(fields), allow_redirects=False)
        assert r.status == 303, await r.text()
        item = r.headers["Location"]
        pages = [item, item + "/review", item + "/edit", item + "/preview", "/console/items/",
                 "/console/items/?q=" + "第", "/console/", item.replace("/console/items/", "/console/items/")
                 + "/site/items/" + item.rsplit("/", 1)[1] + ".html"]
        # a return comment with the payload, shown to the author
        c.session.cookie_jar.clear()
        await sign_in(c, "shen")
        token = await page_csrf(c, item + "/review")
        r = await c.post(item + "/return", data={"_csrf": token, "comment": payload(99)}, allow_redirects=False)
        assert r.status == 303
        # an account whose name and department carry the payload
        c.session.cookie_jar.clear()
        await sign_in(c, "guan")
        token = await page_csrf(c, "/console/users/")
        r = await c.post("/console/users/", data={"_csrf": token, "login": "xss", "name": payload(7),
                                                  "department": payload(8), "roles": "author"})
        assert r.status == 200, await r.text()
        shown = 0
        for who, paths in (("guan", ["/console/users/", "/console/users/xss", "/console/audit/"]),
                           ("zuo", pages)):
            c.session.cookie_jar.clear()
            await sign_in(c, who)
            for path in paths:
                r = await c.get(path)
                text = await r.text()
                assert r.status == 200, (path, r.status)
                found = LIVE.search(text)
                assert found is None, (path, text[max(0, found.start() - 200):found.end() + 100])
                shown += text.count("&lt;script&gt;alert") + text.count("&lt;img src=x")
        assert shown > 5  # the payloads are there, as text
