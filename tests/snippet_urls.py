"""A URLconf holding the spec's automatic-capture snippet, verbatim, for tests/test_spec_snippets.py."""

from django.urls import path


# This error will be automatically captured
def my_view(request):
    raise Exception("Something went wrong!")


urlpatterns = [path("my-view/", my_view)]
