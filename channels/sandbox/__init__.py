"""Emulators of the external services (WeChat, Weibo, SMS providers) that speak the real wire
protocol. Nothing here imports a channel adapter or shares its signing, encryption or rendering
code: each emulator is written from the protocol reference and checked against published test
vectors and the official clients."""
