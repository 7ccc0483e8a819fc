"""`{% fixed_url "name" %}`: `{% url "name" %}` for a URL without arguments, reversed once per process.

The layout's navigation and footer print the same two dozen addresses on every page; `reverse` walks the URL
resolver each time (about a millisecond of a page's CPU for all of them). What `reverse` answers for a name without
arguments depends only on the URL configuration in force and the script prefix (the site's mount point), so the
answer is kept per (configuration, prefix, name): a test that swaps the configuration, or a server mounted
elsewhere, gets its own. Printed escaped, as `{% url %}` prints it.
"""

from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


@lru_cache(maxsize=256)
def _reversed(urlconf: str, prefix: str, name: str) -> str:
    return conditional_escape(reverse(name, urlconf=urlconf))


@register.simple_tag
def fixed_url(name: str) -> str:
    return _reversed(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), name)
