"""Lazily loaded commands: a click group that imports a command's module only when that command is used.

Every cron run pays the process start-up, so ``dotsync --help`` and ``dotsync db status`` must not import the
sync machinery, the sandbox, httpx or alembic. A :class:`LazyGroup` knows its commands by name, module path and
short help (a :class:`Lazy` entry, registered in one line); it lists them in ``--help`` from that short help, and
imports a command's module when the command runs, its own help is shown, or shell completion asks for it.

An entry whose name has a space (``"integration sync"``) belongs to a sub-group: it is handed to that group,
which must itself be a :class:`LazyGroup`, when the group is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

import click
from click.utils import make_str


@dataclass(frozen=True)
class Lazy:
    """One lazily loaded command: its name (``"list"``, or ``"integration sync"`` inside a sub-group), where it
    lives (``"dotsync.cli.list_cmd:list_group"``) and the one line ``--help`` shows for it."""

    name: str
    target: str
    short_help: str


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use (see the module docstring)."""

    def __init__(self, *args: object, lazy: Iterable[Lazy] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lazy: dict[str, Lazy] = {}
        self._nested: dict[str, list[Lazy]] = {}
        self.add_lazy(*lazy)

    def add_lazy(self, *entries: Lazy) -> None:
        for entry in entries:
            head, _, rest = entry.name.partition(" ")
            if rest:
                self._nested.setdefault(head, []).append(replace(entry, name=rest))
            else:
                self._lazy[head] = entry

    def lazy_entries(self) -> dict[str, Lazy]:
        """The commands registered here and not loaded yet, by name."""
        return {name: entry for name, entry in self._lazy.items() if name not in self.commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self._lazy:
            self._load(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = make_str(args[0]) if args else ""
        if name not in self.commands and name not in self._lazy:
            # Unknown (or an option): load the rest so click can suggest a close name. Only on this error path.
            for other in list(self.lazy_entries()):
                self._load(other)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, but a command not loaded yet is listed with its registered short help (not imported)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                rows.append((name, self._lazy[name].short_help))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _load(self, name: str) -> None:
        entry = self._lazy[name]
        module_name, _, attr = entry.target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry.target} is not a click command")
        if not command.short_help:
            command.short_help = entry.short_help  # listed the same before and after loading
        nested = self._nested.pop(name, [])
        if nested:
            if not isinstance(command, LazyGroup):
                raise TypeError(f"{entry.target} has lazy sub-commands: declare it with cls=LazyGroup")
            command.add_lazy(*nested)
        self.add_command(command, name)
