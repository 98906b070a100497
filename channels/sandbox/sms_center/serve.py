"""Running an SMS emulator on its own (``python -m channels.sandbox.aliyun_sms --help``): for
trying the official SDKs against it, and for benchmarks."""
from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable

from aiohttp import web

from channels.sandbox.sms_center.center import SmsCenter, Template


def parser(provider: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m channels.sandbox.{provider}_sms",
                                description=f"{provider} SMS emulator (sandbox)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = any free port (printed at start)")
    p.add_argument("--key-id", required=True, help="the access key id (SecretId) the emulator accepts")
    p.add_argument("--secret", required=True, help="its secret")
    p.add_argument("--sign", action="append", default=[], help="an approved signature (repeatable)")
    p.add_argument("--template", action="append", default=[],
                   help="an approved template: CODE=notice:TEXT or CODE=code:TEXT (repeatable)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds each call takes")
    p.add_argument("--qps", type=float, default=0.0, help="calls per second allowed (0 = no limit)")
    p.add_argument("--db", default=":memory:", help="where messages are kept (a file keeps them across runs)")
    p.add_argument("--report-url", default="", help="delivery reports are pushed here")
    p.add_argument("--report-delay", type=float, default=0.3)
    return p


def templates(specs: list[str]) -> dict[str, Template]:
    found = {}
    for spec in specs:
        code, _, rest = spec.partition("=")
        kind, _, text = rest.partition(":")
        found[code] = Template(kind or "notice", text)
    return found


def serve(make: Callable[[SmsCenter, argparse.Namespace], web.Application], args: argparse.Namespace) -> None:
    async def main() -> None:
        center = SmsCenter(args.db, report_delay=args.report_delay)
        runner = web.AppRunner(make(center, args), max_line_size=65536, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
        port = runner.addresses[0][1]
        print(f"listening on http://{args.host}:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
        center.close()

    asyncio.run(main())
