"""The console page 订阅用户 (SMS subscribers), mounted by the console from this channel's
``Extension.panels``: counts per topic, the list (numbers masked unless an administrator asks),
CSV import with progress and a per-row error report, export, removal and a release's
per-number report. Every action is a :mod:`channels.sms.ops` function, as on the command line
and in the API; the handlers get the console through :class:`channels.extension.ConsoleHost`."""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from channels.extension import ConsoleHost, ConsolePages, PanelPage
from channels.sms import ops, subscriber_csv
from content.accounts import Role
from content.errors import GongkaiError, InputError

HERE = Path(__file__).resolve().parent
BASE = "/console/subscribers/"
READERS = (Role.ADMIN.value, Role.AUDITOR.value)
ADMINS = (Role.ADMIN.value,)
KEPT_JOBS = 20
UPLOAD_MAX = 1024 * 1024  # the web app's request limit; larger files: gongkai subscribers import


def _flag(value: Any) -> bool:
    return str(value or "").lower() in ("1", "true", "on", "yes")


def _int(value: Any, default: int, *, field_name: str, low: int = 1, high: int = 2**31 - 1) -> int:
    text = str(value or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise InputError(f"{text} 不是有效的编号", field=field_name, fix=f"填写 {low} 到 {high} 之间的整数")
    return int(text)


# ----------------------------------------------------------------------------------------- overview
async def overview(request: web.Request, console: ConsoleHost) -> web.StreamResponse:
    host, who = console.host(request), console.who(request)
    q = request.query
    status = q.get("status") or None
    unmasked = _flag(q.get("unmasked"))
    counts = await ops.counts(host, who)
    listing = await ops.listing(host, who, status=status, topic=(q.get("topic") or "").strip() or None,
                                search=(q.get("search") or "").strip() or None,
                                limit=_int(q.get("limit"), 50, field_name="limit", high=ops.LIST_MAX),
                                unmasked=unmasked)
    return await console.render(request, "subscribers.html", counts=counts, listing=listing, form=q,
                                statuses=ops.STATUS_LABELS, results=ops.RESULT_LABELS,
                                is_admin=who.has(Role.ADMIN), enabled="sms" in host.channels,
                                unmasked_url=BASE + "?" + "&".join(
                                    f"{k}={quote(v)}" for k, v in {**q, "unmasked": "1"}.items()))


# ----------------------------------------------------------------------------------------- import
@dataclass
class Job:
    """One import running in this process; its page refreshes until it ends."""

    id: str
    owner: str
    filename: str
    progress: ops.ImportProgress | None = None
    report: ops.ImportReport | None = None
    error: str = ""
    task: asyncio.Task | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.report is not None or bool(self.error)


_JOBS: dict[str, Job] = {}


async def start_import(request: web.Request, console: ConsoleHost) -> web.StreamResponse:
    host, who = console.host(request), console.who(request)
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField) or not upload.filename:
        raise InputError("没有选择 CSV 文件", field="file", fix="选择要导入的 CSV 文件后再提交")
    raw = upload.file.read(UPLOAD_MAX + 1)
    if len(raw) > UPLOAD_MAX:
        raise InputError(f"文件超过 {UPLOAD_MAX // 1024 // 1024} MB", field="file",
                         fix="拆成几个文件分别导入，或用命令行 gongkai subscribers import")
    text = subscriber_csv.decode_bytes(raw, upload.filename)
    filename = Path(upload.filename).name[:100]
    consent, source = str(form.get("consent", "")), str(form.get("source", ""))
    # a file that cannot be imported at all (no consent, no topics column) is refused at once
    subscriber_csv.SubscriberCsv(text, consent=consent, source=source or filename)
    job = Job(secrets.token_urlsafe(12), who.login, filename)

    def on_progress(p: ops.ImportProgress) -> None:
        job.progress = p

    async def run() -> None:
        try:
            job.report = await ops.import_csv(host, who, text, filename=filename, source=source, consent=consent,
                                              on_progress=on_progress)
        except GongkaiError as exc:
            job.error = exc.message + (f"（{exc.fix}）" if exc.fix else "")
        except Exception:  # noqa: BLE001 - shown on the page; the trace goes to the log
            import logging

            logging.getLogger("gongkai.console").exception("subscriber import failed")
            job.error = "导入时发生内部错误，已写入日志；已导入的部分保留，可修正后重新导入（重复导入不会重复添加）"

    job.task = asyncio.get_running_loop().create_task(run())
    _JOBS[job.id] = job
    for old in list(_JOBS)[:-KEPT_JOBS]:
        if _JOBS[old].done:
            del _JOBS[old]
    raise await console.redirect(request, f"{BASE}import/{job.id}", f"开始导入 {filename}", "info")


async def import_status(request: web.Request, console: ConsoleHost) -> web.StreamResponse:
    job = _JOBS.get(request.match_info.get("job", ""))
    if job is None or job.owner != console.who(request).login:
        return await console.render(request, "import.html", status=404, job=None)
    response = await console.render(request, "import.html", job=job)
    if not job.done:
        response.headers["Refresh"] = "1"  # no script needed: the browser reloads until it ends
    return response


# ----------------------------------------------------------------------------------------- export
async def export(request: web.Request, console: ConsoleHost) -> web.StreamResponse:
    form = await request.post()
    done = await ops.export(console.host(request), console.who(request), status=str(form.get("status") or "") or None,
                            unmasked=_flag(form.get("unmasked")), target="console")
    name = "subscribers-full.csv" if done.unmasked else "subscribers-masked.csv"
    return web.Response(body=done.csv.encode("utf-8-sig"), headers={
        "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{name}"'})


# ----------------------------------------------------------------------------------------- remove
async def remove(request: web.Request, console: ConsoleHost) -> web.StreamResponse:
    form = await request.post()
    phones = [p for p in str(form.get("phones", "")).replace("，", ",").replace(",", "\n").split() if p.strip()]
    done = await ops.remove(console.host(request), console.who(request), phones, purge=_flag(form.get("purge")),
                            reason=str(form.get("reason", "")))
    verb = "已删除" if done.purged else "已停止发送（标记为已退订）"
    text = f"{verb} {len(done.removed)} 个号码"
    if done.not_found:
        text += f"；不在名单中：{'、'.join(ops.shown(p, False) for p in done.not_found)}"
    raise await console.redirect(request, BASE, text, "ok" if done.removed else "error")


# ----------------------------------------------------------------------------------------- report
async def report(request: web.Request, console: ConsoleHost) -> web.StreamResponse:
    q = request.query
    release = _int(q.get("release"), 0, field_name="release")
    if not release:
        raise InputError("请填写发布计划编号", field="release", fix="在“发送报告”中填写发布计划编号")
    status = q.get("status") or None
    found = await ops.report(console.host(request), console.who(request), release, status=status,
                             unmasked=_flag(q.get("unmasked")))
    return await console.render(request, "report.html", report=found, results=ops.RESULT_LABELS, form=q,
                                is_admin=console.who(request).has(Role.ADMIN))


PAGES = ConsolePages("sms", str(HERE / "console_templates"), (
    PanelPage("GET", "subscribers/", READERS, overview),
    PanelPage("POST", "subscribers/import", ADMINS, start_import),
    PanelPage("GET", "subscribers/import/{job}", ADMINS, import_status),
    PanelPage("POST", "subscribers/export", READERS, export),
    PanelPage("POST", "subscribers/remove", ADMINS, remove),
    PanelPage("GET", "subscribers/report", (*READERS, Role.APPROVER.value), report),
))
