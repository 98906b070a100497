"""``gongkai webhook …``: register the URLs other systems want events POSTed to, list, enable,
disable and remove them, send a test event and show recent deliveries. The work is done by
bot.ops.webhooks, which the console and the HTTP API call too."""
from __future__ import annotations

from datetime import datetime

import click

from bot.clikit import Cli, command
from bot.climount import LazyGroup
from bot.ops import webhooks as ops
from bot.output import emit, table
from content.events import ALL, EVENT_LABELS
from content.webhooks import DELIVERY_LABELS, DeliveryView, EndpointView, Registered

EVENTS_HELP = "；".join(f"{name} {label}" for name, label in EVENT_LABELS.items())


@click.group("webhook", cls=LazyGroup)
def webhook() -> None:
    """Webhook：事件发生时向其他系统的网址推送签名的 JSON（管理员）。"""


def _local(cli: Cli, at: datetime | None) -> str:
    return at.astimezone(cli.settings.tz).strftime("%Y-%m-%d %H:%M:%S") if at else "—"


def _events_text(events: tuple[str, ...]) -> str:
    return "全部事件" if ALL in events else "、".join(events)


def _run(cli: Cli, op, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    """Run ``op(svc, who, …)`` as the acting account."""
    return cli.run_as(lambda svc, who: op(svc, who, *args, **kwargs))


@command(webhook, "add")
@click.argument("url", metavar="网址")
@click.option("--events", required=True, help=f"订阅的事件，逗号分隔，* 表示全部。可用：{EVENTS_HELP}")
def add(cli: Cli, url: str, events: str) -> None:
    """登记一个接收网址；签名密钥只在这里显示一次。"""
    made: Registered = _run(cli, ops.add, url, events.split(","))
    ep = made.endpoint
    emit(cli.as_json, {**ep.as_json(), "secret": made.secret},
         [f"已登记 Webhook {ep.id}：{ep.url}（{_events_text(ep.events)}）",
          f"签名密钥（只显示这一次，请立即交给接收方保存）：{made.secret}",
          "接收方用它核对请求头 X-Gongkai-Signature，见 README“Webhook”一节；"
          f"可用 gongkai webhook test {ep.id} 发一条测试事件"])


@command(webhook, "list")
def list_(cli: Cli) -> None:
    """列出已登记的网址（不显示签名密钥）。"""
    found: list[EndpointView] = _run(cli, ops.listing)
    rows = [[str(e.id), e.url, _events_text(e.events), "启用" if e.enabled else "已停用", e.created_by,
             _local(cli, e.created_at)] for e in found]
    emit(cli.as_json, {"webhooks": [e.as_json() for e in found]},
         table(rows, ["编号", "网址", "事件", "状态", "登记人", "登记时间"]) if rows
         else "还没有登记 Webhook。用 gongkai webhook add 网址 --events 事件 登记。")


@command(webhook, "remove")
@click.argument("endpoint_id", metavar="编号", type=int)
def remove(cli: Cli, endpoint_id: int) -> None:
    """删除一个网址及其投递记录（审计日志保留登记与删除）。"""
    ep: EndpointView = _run(cli, ops.remove, endpoint_id)
    emit(cli.as_json, {**ep.as_json(), "removed": True}, f"已删除 Webhook {ep.id}：{ep.url}")


@command(webhook, "enable")
@click.argument("endpoint_id", metavar="编号", type=int)
def enable(cli: Cli, endpoint_id: int) -> None:
    """重新启用：之后的事件照常推送，停用期间积压的投递继续发送。"""
    ep: EndpointView = _run(cli, ops.set_enabled, endpoint_id, True)
    emit(cli.as_json, ep.as_json(), f"Webhook {ep.id} 已启用：{ep.url}")


@command(webhook, "disable")
@click.argument("endpoint_id", metavar="编号", type=int)
def disable(cli: Cli, endpoint_id: int) -> None:
    """停用：不再为它记录新事件，未发出的投递暂停。"""
    ep: EndpointView = _run(cli, ops.set_enabled, endpoint_id, False)
    emit(cli.as_json, ep.as_json(), f"Webhook {ep.id} 已停用：{ep.url}")


@command(webhook, "test")
@click.argument("endpoint_id", metavar="编号", type=int)
def test(cli: Cli, endpoint_id: int) -> None:
    """立即向该网址发送一条测试事件（webhook.test），显示对方的应答。"""
    d: DeliveryView = _run(cli, ops.test, endpoint_id)
    if d.state == "sent":
        line = f"测试事件已送达 Webhook {endpoint_id}（HTTP {d.last_status}，事件编号 {d.event_id}）"
    else:
        line = f"测试事件未送达 Webhook {endpoint_id}：{ops.why(d)}"
    emit(cli.as_json, d.as_json(), line)
    if d.state != "sent":
        raise SystemExit(1)


@command(webhook, "deliveries")
@click.argument("endpoint_id", metavar="编号", type=int)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="显示最近多少条")
def deliveries(cli: Cli, endpoint_id: int, limit: int) -> None:
    """该网址最近的投递：事件、状态、尝试次数、对方应答。"""
    found: list[DeliveryView] = _run(cli, ops.deliveries, endpoint_id, limit)
    rows = [[str(d.id), d.event, DELIVERY_LABELS.get(d.state, d.state), str(d.attempts),
             str(d.last_status or "—"), _local(cli, d.created_at), (d.last_error or "")[:60]] for d in found]
    emit(cli.as_json, {"endpoint": endpoint_id, "deliveries": [d.as_json() for d in found]},
         table(rows, ["投递", "事件", "状态", "尝试", "应答", "事件时间", "错误"]) if rows
         else f"Webhook {endpoint_id} 还没有投递。")
