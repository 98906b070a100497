"""渠道: each channel's state (sandbox or live), its alerts and the panels it declares; never a
secret; a broken panel does not break the page."""
from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

from bot.ops.channels import show_panel
from channels.extension import Panel
from channels.weibo.tokens import TokenStore
from content.accounts import Role
from tests.console_support import add_account, client, console, sign_in

SECRETS = {"GONGKAI_CHANNELS__WECHAT__APP_SECRET": "wx-very-secret-123",
           "GONGKAI_CHANNELS__WECHAT__TOKEN": "wx-callback-token-456",
           "GONGKAI_CHANNELS__WEIBO__APP_SECRET": "wb-very-secret-789",
           "GONGKAI_CHANNELS__SMS__ACCESS_KEY_SECRET": "sms-very-secret-000"}


async def test_the_channels_page_shows_state_and_panels_without_secrets(tmp_path: Path) -> None:
    async with console(tmp_path, **SECRETS) as (svc, clock), client(svc) as c:
        await add_account(svc, "author", Role.AUTHOR)
        await TokenStore(svc.store).save("weibo-access-token-abc", "12345", 3 * 86400, now=clock.now())
        await sign_in(c, "author")
        r = await c.get("/console/channels/")
        page = await r.text()
        assert r.status == 200
        for label in ("网站", "微信公众号", "微博", "短信"):
            assert label in page, label
        assert "沙箱（模拟器）" in page
        website = page.split('id="ch-website"')[1].split("</section>")[0]
        assert "本机生成" in website and "沙箱" not in website
        assert "网站状态" in website and "在网站上的稿件" in website and "0 篇" in website
        weibo = page.split('id="ch-weibo"')[1].split("</section>")[0]
        assert "访问令牌到期" in weibo and "2026-03-05 09:00" in weibo and "还剩 3 天" in weibo
        for secret in (*SECRETS.values(), "weibo-access-token-abc"):
            assert secret not in page
        clock.advance(days=3, minutes=1)
        await sign_in(c, "author")  # three days on, a new sign-in
        weibo = (await (await c.get("/console/channels/")).text()).split('id="ch-weibo"')[1].split("</section>")[0]
        assert "已于 2026-03-05 09:00 过期" in weibo


async def test_panels_render_facts_markup_or_text_and_survive_errors(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, _):
        facts = await show_panel(svc, Panel("f", "F", "tests.test_console_channels:facts_panel"))
        assert facts.facts == (("<b>名</b>", "<script>x</script>"),)
        html = await show_panel(svc, Panel("h", "H", "tests.test_console_channels:html_panel"))
        assert html.html == Markup("<p>好</p>")
        pages = await show_panel(svc, Panel("p", "订阅用户", "tests.test_console_channels:PAGES"))
        assert pages.link == "/console/subscribers/"
        broken = await show_panel(svc, Panel("b", "B", "tests.test_console_channels:broken_panel"))
        assert "面板暂时无法显示（RuntimeError）" in broken.error and "secret" not in broken.error


async def test_panel_facts_are_escaped_on_the_page(tmp_path: Path) -> None:
    from bot.console import kit

    async with console(tmp_path) as (svc, _):
        view = await show_panel(svc, Panel("f", "F", "tests.test_console_channels:facts_panel"))
        from bot.ops.channels import ChannelView

        page = kit.make_env(svc).get_template("channels.html").render(
            channels=[ChannelView("x", "X", True, True, False, (), (view,))], who=None, nav=[], flash=[],
            static=lambda n: n, path="/", csrf="", csrf_input="")
        assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def facts_panel(host) -> dict:  # noqa: ANN001
    return {"<b>名</b>": "<script>x</script>"}


async def html_panel(host) -> Markup:  # noqa: ANN001
    return Markup("<p>好</p>")


async def broken_panel(host) -> None:  # noqa: ANN001
    raise RuntimeError("the secret is hunter2")




class _Page:
    def __init__(self, method: str, path: str) -> None:
        self.method, self.path = method, path


class _Pages:
    pages = (_Page("POST", "subscribers/import"), _Page("GET", "subscribers/"))


PAGES = _Pages()
