"""Barrier files: changing one makes a task run alone (lockfiles, manifests, CI, hot files)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from app.scheduling.globs import glob_matches, globs_may_overlap

# Lockfiles are regenerated wholesale, so two tasks touching one always conflict.
LOCKFILES: tuple[str, ...] = tuple(
    f"**/{name}"
    for name in (
        "poetry.lock",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lockb",
        "Cargo.lock",
        "uv.lock",
        "pdm.lock",
        "Pipfile.lock",
        "go.sum",
        "Gemfile.lock",
        "composer.lock",
        "mix.lock",
        "flake.lock",
        "Podfile.lock",
        "packages.lock.json",
        "gradle.lockfile",
    )
)

# A manifest change (a dependency, a version, an entry point) can break every other task.
MANIFESTS: tuple[str, ...] = tuple(
    f"**/{name}"
    for name in (
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "requirements*.txt",
        "requirements/*.txt",
        "Pipfile",
        "package.json",
        "Cargo.toml",
        "go.mod",
        "Gemfile",
        "*.gemspec",
        "composer.json",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "mix.exs",
    )
)

CI_CONFIG: tuple[str, ...] = (
    ".github/workflows/**",
    ".github/actions/**",
    ".gitlab-ci.yml",
    ".gitlab-ci/**",
    ".circleci/**",
    ".travis.yml",
    ".buildkite/**",
    ".drone.yml",
    "azure-pipelines.yml",
    "appveyor.yml",
    "bitbucket-pipelines.yml",
    "Jenkinsfile",
)

DEFAULT_BARRIERS: tuple[str, ...] = LOCKFILES + MANIFESTS + CI_CONFIG


@dataclass(frozen=True)
class BarrierRules:
    """Globs and hot files that make a task run alone."""

    globs: tuple[str, ...] = DEFAULT_BARRIERS
    hot_files: frozenset[str] = field(default_factory=frozenset)

    def is_barrier(self, path: str) -> bool:
        """Return whether changing `path` makes a task run alone."""
        return path in self.hot_files or any(glob_matches(glob, path) for glob in self.globs)

    def hits(self, files: Iterable[str], globs: Iterable[str] = ()) -> frozenset[str]:
        """Return the files, and claimed globs, that are barriers."""
        found = {path for path in files if self.is_barrier(path)}
        found.update(claimed for claimed in globs if self._glob_hits(claimed))
        return frozenset(found)

    def _glob_hits(self, claimed: str) -> bool:
        if any(glob_matches(claimed, path) for path in self.hot_files):
            return True
        # Any directory could hold a `**/package.json`, so only rooted barrier globs (such as
        # `.github/workflows/**`) count against a claimed glob; otherwise every scope is one.
        rooted = (barrier for barrier in self.globs if not barrier.startswith("**"))
        return any(globs_may_overlap(claimed, barrier) for barrier in rooted)


def find_hot_files(
    commits: Sequence[Collection[str]],
    *,
    share: float = 0.25,
    recent: int = 200,
    min_commits: int = 20,
    max_files: int = 50,
) -> frozenset[str]:
    """Return files touched by at least `share` of the `recent` latest commits.

    Too little history (fewer than `min_commits`) finds nothing rather than calling a file hot
    from a handful of commits. Huge commits are skipped as in co-change counting.
    """
    window = [set(files) for files in commits[-recent:] if 0 < len(files) <= max_files]
    if len(window) < min_commits:
        return frozenset()
    counts = Counter(path for files in window for path in files)
    return frozenset(path for path, count in counts.items() if count / len(window) >= share)


def barrier_rules(
    configured: Sequence[str] = (),
    *,
    history: Sequence[Collection[str]] = (),
    hot_share: float = 0.25,
    defaults: bool = True,
) -> BarrierRules:
    """Combine the built-in barriers, the policy's `paths.barriers` and hot files from history."""
    globs = (DEFAULT_BARRIERS if defaults else ()) + tuple(configured)
    return BarrierRules(
        globs=tuple(dict.fromkeys(globs)), hot_files=find_hot_files(history, share=hot_share)
    )
