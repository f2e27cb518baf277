"""placeholder"""
def status_problem(code: str, status: str) -> tuple[str, str] | None:
    return None
