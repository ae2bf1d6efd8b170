"""Known failures as one line each: the cause and the fix, never a traceback.

The command line and the `dev` loop call `describe_failure` on whatever escaped a command. The
SDKs are imported only here, inside the function, so `townhall --help` stays fast.
"""

from __future__ import annotations

DOCTOR = "run `townhall doctor` for every check"


def describe_failure(error: BaseException) -> str:
    """Return one line naming what failed and what to do; unknown errors say where to look."""
    import anthropic
    import httpx
    import jwt
    from githubkit.exception import RequestError, RequestFailed

    unreadable_pem = isinstance(error, ValueError) and "PEM" in str(error)
    if isinstance(error, jwt.exceptions.PyJWTError) or unreadable_pem:
        return f"the GitHub App private key cannot sign a JWT ({error}); {DOCTOR}"
    if isinstance(error, RequestFailed):
        request = error.response.raw_request
        status = error.response.status_code
        hint = (
            "the App's key or id is wrong, or the App was deleted"
            if status == 401
            else "the App lacks a permission, or a rate limit was hit"
            if status == 403
            else "GitHub refused the request"
        )
        return f"GitHub answered {status} to {request.method} {request.url.path}: {hint}; {DOCTOR}"
    if isinstance(error, RequestError | httpx.TransportError):
        return f"cannot reach GitHub ({error}); check TOWNHALL_GITHUB_API_URL; {DOCTOR}"
    if isinstance(error, anthropic.AuthenticationError):
        return f"the model API rejected ANTHROPIC_API_KEY; {DOCTOR}"
    if isinstance(error, anthropic.APIConnectionError):
        return f"cannot reach the model API ({error}); check ANTHROPIC_BASE_URL; {DOCTOR}"
    if isinstance(error, anthropic.APIError):
        return f"the model API failed: {error}"
    if isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror or error}{where}"
    return (
        f"unexpected error ({type(error).__name__}: {error}); "
        "set TOWNHALL_TRACEBACK=1 to see the traceback, and please report it"
    )
