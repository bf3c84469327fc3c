"""The route table: every command, button prefix and dialog flow, with who may use it and the
module that handles it (`congdoan routes`). The registry refuses a name claimed twice, so the
table is also the list of names that are taken."""

from __future__ import annotations

from dataclasses import dataclass

from bot.registry import Registry


@dataclass(frozen=True)
class Route:
    kind: str  # "command", "button", "flow"
    name: str  # "/thongbao", "bc", "broadcast"
    access: str  # "anyone", "member", "organiser", "board", "admin"; flows: the dialog's owner
    where: str  # "private", "group", "any"
    handler: str  # module.function

    def line(self) -> str:
        return f"{self.kind:8} {self.name:18} {self.access:9} {self.where:8} {self.handler}"


def _where(func: object) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', '?')}"


def routes(registry: Registry) -> list[Route]:
    table = [
        Route("command", f"/{c.name}", c.access, c.where, _where(c.handler))
        for c in registry.commands.values()
    ]
    table += [
        Route("button", prefix, access, "any", _where(func))
        for prefix, (func, access) in registry.buttons.items()
    ]
    table += [Route("flow", name, "owner", "any", _where(f)) for name, f in registry.flows.items()]
    return sorted(table, key=lambda r: (r.handler.rsplit(".", 1)[0], r.kind, r.name))


def print_routes() -> int:
    import handlers

    print(f"{'kind':8} {'name':18} {'access':9} {'where':8} handler")
    for route in routes(handlers.load_all()):
        print(route.line())
    return 0
