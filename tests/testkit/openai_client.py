"""A minimal OpenAI-API client over urllib for the demo, the tests and the benchmark."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def post_json(
    url: str,
    payload: Any,
    *,
    api_key: str | None = None,
    content_type: str = "application/json",
    timeout: float = 60.0,
) -> Reply:
    """POST `payload` as JSON; HTTP errors are returned, not raised."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": content_type}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    return _send(request, timeout)


def get(url: str, *, api_key: str | None = None, timeout: float = 10.0) -> Reply:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key is not None else {}
    request = urllib.request.Request(url, headers=headers)
    return _send(request, timeout)


def _send(request: urllib.request.Request, timeout: float) -> Reply:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read(), dict(error.headers))


def chat(base_url: str, model: str, text: str, *, max_tokens: int = 8, **kwargs: Any) -> Reply:
    payload = {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": max_tokens}
    return post_json(f"{base_url}/chat/completions", payload, **kwargs)


def embed(base_url: str, model: str, text: str, **kwargs: Any) -> Reply:
    return post_json(f"{base_url}/embeddings", {"model": model, "input": text}, **kwargs)


def rerank(base_url: str, model: str, query: str, documents: list[str], **kwargs: Any) -> Reply:
    return post_json(f"{base_url}/rerank", {"model": model, "query": query, "documents": documents}, **kwargs)
