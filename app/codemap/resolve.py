"""Turn each file's import specifiers into the repository files they name."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Sequence
from pathlib import PurePosixPath

from app.codemap.parsers.rust import MOD_PREFIX
from app.codemap.symbols import SourceFile

_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
# Source roots that are not part of a module's import name.
_SOURCE_ROOTS = ("src/", "lib/")


class ImportResolver:
    """Resolve import specifiers against one repository's set of files."""

    def __init__(self, files: Sequence[SourceFile]) -> None:
        self._paths = frozenset(f.path for f in files)
        self._python: dict[str, str] = {}
        self._go_dirs: dict[str, list[str]] = defaultdict(list)
        self._rust: dict[str, list[str]] = defaultdict(list)
        for path in sorted(self._paths):
            if path.endswith((".py", ".pyi")):
                for module in _python_modules(path):
                    self._python.setdefault(module, path)
            elif path.endswith(".go") and not path.endswith("_test.go"):
                self._go_dirs[posixpath.dirname(path)].append(path)
            elif path.endswith(".rs"):
                self._rust[_rust_module(path)].append(path)

    def resolve(self, source: SourceFile) -> list[list[str]]:
        """Return, for each import of a file, the files it names (often none)."""
        resolved = [self._resolve_one(source, spec) for spec in source.summary.imports]
        return [targets for targets in resolved if targets and source.path not in targets]

    def _resolve_one(self, source: SourceFile, spec: str) -> list[str]:
        path = source.path
        if path.endswith((".py", ".pyi")):
            target = self._python.get(spec)
            return [target] if target else []
        if path.endswith(".go"):
            return self._go(spec)
        if path.endswith(".rs"):
            return self._rust_targets(path, spec)
        if source.language in ("JavaScript", "TypeScript"):
            return self._relative(path, spec, _JS_EXTENSIONS) if spec.startswith(".") else []
        if source.language == "Markdown":
            return self._relative(path, spec, ())
        return []

    def _relative(self, path: str, spec: str, extensions: tuple[str, ...]) -> list[str]:
        base = posixpath.normpath(posixpath.join(posixpath.dirname(path), spec))
        # TypeScript imports name the compiled ".js" file; the source is ".ts".
        stem = base.removesuffix(".js") if base.endswith(".js") else base
        candidates = [base, *(stem + e for e in extensions)]
        candidates += [f"{base}/index{e}" for e in extensions]
        return next(([c] for c in candidates if c in self._paths), [])

    def _go(self, spec: str) -> list[str]:
        matches = [d for d in self._go_dirs if d and (spec == d or spec.endswith("/" + d))]
        # The longest matching directory is the most specific package for the import path.
        return self._go_dirs[max(matches, key=len)] if matches else []

    def _rust_targets(self, path: str, spec: str) -> list[str]:
        if spec.startswith(MOD_PREFIX):
            name = spec[len(MOD_PREFIX) :]
            parent = PurePosixPath(path)
            owner = (
                parent.parent if parent.stem in ("mod", "lib", "main") else parent.with_suffix("")
            )
            for candidate in (f"{owner}/{name}.rs", f"{owner}/{name}/mod.rs"):
                if (candidate.removeprefix("./")) in self._paths:
                    return [candidate.removeprefix("./")]
            return []
        segments = [s for s in spec.split("{", 1)[0].split("::") if s]
        segments = [s for s in segments if s not in ("crate", "self", "super")]
        for end in range(len(segments), 0, -1):
            targets = self._rust.get("/".join(segments[:end]))
            if targets:
                return targets
        return []


def _python_modules(path: str) -> list[str]:
    """Return the dotted names under which a Python file can be imported."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts:
        return []
    names = [".".join(parts)]
    if path.startswith(_SOURCE_ROOTS) and len(parts) > 1:
        names.append(".".join(parts[1:]))
    return names


def _rust_module(path: str) -> str:
    """Return a Rust file's module path below its crate's source root, slash-separated."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if "src" in parts:
        parts = parts[len(parts) - parts[::-1].index("src") :]
    if parts and parts[-1] == "mod":
        parts = parts[:-1]
    return "/".join(parts)
