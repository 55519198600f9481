"""Request accounting: counts each request's outcome for the error-rate rule and times its queries."""

from __future__ import annotations

from infrastructure.runtime import current_runtime


class ErrorTrackingMiddleware:
    """Outermost middleware: sees the final status, including 500s made from unhandled exceptions."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        runtime = current_runtime()
        if runtime is None:
            return self.get_response(request)
        token = runtime.queries.start()
        failed = True
        try:
            response = self.get_response(request)
            failed = response.status_code >= 500
            return response
        finally:
            runtime.queries.finish(token)
            runtime.observe_request(failed)
