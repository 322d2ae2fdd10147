"""The literal data the clickstream generator draws from: browsers, places, words, events.

Kept apart so that the model code stays short; every table here is plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

USER_AGENTS: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36",
)
COUNTRIES: Final = ("US", "US", "US", "GB", "DE", "FR", "IN", "BR", "CA", "JP")
EXTERNAL_REFERRERS: Final = (
    "",
    "",
    "https://www.google.com/",
    "https://www.google.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://t.co/",
    "https://www.reddit.com/",
)
CAMPAIGNS: Final = (
    "utm_source=newsletter&utm_medium=email&utm_campaign=black-friday",
    "utm_source=google&utm_medium=cpc&utm_campaign=brand",
    "ref=producthunt",
)
WORDS: Final = (
    "alpine",
    "amber",
    "bold",
    "cedar",
    "coastal",
    "daily",
    "electric",
    "field",
    "granite",
    "harbor",
    "indigo",
    "juniper",
    "lunar",
    "maple",
    "north",
    "orbit",
    "prairie",
    "quiet",
    "river",
    "summit",
)
NOUNS: Final = (
    "backpack",
    "boots",
    "jacket",
    "lamp",
    "mug",
    "notebook",
    "scarf",
    "sneakers",
    "tent",
    "watch",
)
TOPICS: Final = (
    "kinesis",
    "lambda",
    "python",
    "streaming",
    "exactly-once",
    "dynamodb",
    "observability",
    "testing",
    "performance",
    "design",
    "career",
    "databases",
    "networking",
    "security",
    "rust",
)
TRACK_EVENTS: Final[Mapping[str, tuple[str, ...]]] = {
    "shop": (
        "Product Viewed",
        "Product Added",
        "Products Searched",
        "Checkout Started",
        "Order Completed",
    ),
    "blog": ("Article Shared", "Newsletter Subscribed", "Comment Posted", "Link Clicked"),
    "other": ("Button Clicked", "Form Submitted", "Link Clicked"),
}


SHOP_FIXED: Final = ("/cart", "/checkout", "/search", "/account", "/login", "/help")
BLOG_FIXED: Final = ("/about", "/archive", "/newsletter", "/search")
