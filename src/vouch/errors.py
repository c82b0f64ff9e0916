"""The errors vouch raises. The CLI catches the root once and maps the branch to an exit code.

```
VouchError                     every failure vouch reports; str() is the user's one-line message
├── UsageError                 exit 2: the command, its arguments or the project's configuration
│   ├── SourceError            not a git repository, unknown revision, bad subdirectory
│   ├── ProjectConfigError     no pyproject.toml, no [build-system], unreadable TOML
│   └── LockMismatchError      the build lock does not satisfy [build-system] requires
├── VerificationError          exit 1: a fact about the artifacts (or the build) is wrong
│   ├── BuildFailedError       the build backend failed; carries the last lines of its output
│   └── ArchiveError           a malformed, unsafe or oversized archive (zip bomb, path escape)
└── CheckError                 exit 3: vouch could not check (network, missing tool, I/O)
    ├── ToolError              git or uv missing, or failing for a reason of its own
    ├── NetworkError           the package index could not be reached or answered badly
    └── OutputError            the output directory cannot be written
```

Each error carries a ``hint``: what to do next, printed under the message.
"""

from __future__ import annotations


class VouchError(Exception):
    """Root of vouch's errors. ``str(error)`` is a single line meant for the user."""

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(VouchError):
    """The command line, the project's configuration or its inputs are wrong."""

    exit_code = 2


class SourceError(UsageError):
    """The source is not a git working tree, or the revision or subdirectory does not exist."""


class ProjectConfigError(UsageError):
    """The project cannot be built as declared (pyproject.toml, [build-system])."""


class LockMismatchError(UsageError):
    """The build lock does not pin what the project's build requirements ask for."""


class VerificationError(VouchError):
    """Something about the artifacts or the build is not as it must be."""

    exit_code = 1


class BuildFailedError(VerificationError):
    """The build backend failed. ``output_tail`` holds the last lines it printed."""

    def __init__(self, message: str, *, output_tail: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.output_tail = output_tail


class ArchiveError(VerificationError):
    """An archive is malformed, unsafe (escaping paths, links, devices) or too large."""


class CheckError(VouchError):
    """vouch could not carry out a check: a tool, the network or the file system failed."""

    exit_code = 3


class ToolError(CheckError):
    """An external tool (git, uv) is missing or failed for a reason of its own."""


class NetworkError(CheckError):
    """The package index could not be reached, or answered with something unusable."""


class OutputError(CheckError):
    """The output cannot be written."""
