"""Deterministic moderations (`POST /v1/moderations`) in OpenAI's wire format.

A text is flagged in a category when it contains one of that category's words (below), so tests can
choose the verdict: "kill" flags violence. Images are never flagged, but are reported as read.
"""

CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)
IMAGE_CATEGORIES = {"self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "violence", "violence/graphic"}
WORDS = {
    "violence": ("kill", "murder"),
    "violence/graphic": ("gore",),
    "harassment": ("idiot",),
    "hate": ("vermin",),
    "self-harm": ("hurt myself",),
    "illicit": ("shoplift",),
}
DEFAULT_MODEL = "omni-moderation-latest"


def _parts(request: dict) -> list[list[dict]]:
    """The inputs, each as its parts: a list of strings is one input per string; a list of parts is one input."""
    given = request.get("input")
    if isinstance(given, str):
        return [[{"type": "text", "text": given}]]
    if isinstance(given, list) and given and all(isinstance(item, str) for item in given):
        return [[{"type": "text", "text": item}] for item in given]
    if isinstance(given, list) and given and all(isinstance(item, dict) and item.get("type") in ("text", "image_url")
                                                 for item in given):
        return [given]
    raise ValueError("input must be a string, a list of strings, or a list of text and image_url parts")


def _result(parts: list[dict]) -> dict:
    text = " ".join(part["text"] for part in parts if part["type"] == "text").lower()
    kinds = [kind for kind, part in (("text", "text"), ("image", "image_url")) if any(p["type"] == part for p in parts)]
    categories = {name: any(word in text for word in WORDS.get(name, ())) for name in CATEGORIES}
    return {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": {name: 0.97 if flagged else 0.0001 for name, flagged in categories.items()},
        "category_applied_input_types": {
            name: [kind for kind in kinds if kind == "text" or name in IMAGE_CATEGORIES] for name in CATEGORIES
        },
    }


def moderation(request: dict, *, moderation_id: str) -> dict:
    return {"id": moderation_id, "model": request.get("model") or DEFAULT_MODEL,
            "results": [_result(parts) for parts in _parts(request)]}
