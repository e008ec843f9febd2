"""Cite this: a figure or the dataset, with its source article, as plain text, BibTeX and CSL-JSON; and the
schema.org Dataset description (JSON-LD) the home page embeds for dataset search engines."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from app import __version__

DATASET_TITLE = "Cadre families overseas: figures as reported"
LICENSE = "Code: MIT. Quotes: short citations of the source, with its URL."


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        return dt.date.fromisoformat(value[:10])
    return None


def _long(value: Any) -> str:
    day = _date(value)
    return f"{day.day} {day:%B %Y}" if day else ""


def _bib(value: str) -> str:
    return value.replace("\\", "\\textbackslash{}").replace("{", "\\{").replace("}", "\\}").replace("&", "\\&")


def citation(
    source: dict[str, Any], base_url: str, path: str, loaded_at: Any, metric: dict[str, Any] | None = None
) -> dict[str, str]:
    """Plain text, BibTeX and CSL-JSON for `path` on this dataset (a figure's page, or the dataset)."""
    url = base_url + path
    accessed = _date(loaded_at)
    what = DATASET_TITLE
    if metric is not None:
        context = ", ".join(
            x for x in ((metric.get("period") or {}).get("label"), (metric.get("destination") or {}).get("label")) if x
        )
        what = f"{metric['measure_label']}: {metric['value_text']}" + (f" ({context})" if context else "")
    published = _date(source["published"])
    plain = (
        f"{what}. As reported in \u201c{source['title']}\u201d, {source['publisher']}, {_long(published)}, "
        f"{source['url']}. In: {DATASET_TITLE}, version {__version__}, data loaded {_long(accessed)}, {url}."
    )
    key = "cadre-families-" + (metric["id"] if metric else "dataset")
    article_key = f"{source['id']}"
    bibtex = (
        f"@misc{{{key},\n"
        f"  title = {{{_bib(what)}}},\n"
        f"  howpublished = {{\\url{{{url}}}}},\n"
        f"  note = {{{_bib(DATASET_TITLE)}, version {__version__}; as reported by {_bib(source['publisher'])}, "
        f"{_long(published)}, see \\cite{{{article_key}}}}},\n"
        f"  year = {{{accessed.year if accessed else ''}}}\n"
        "}\n\n"
        f"@article{{{article_key},\n"
        f"  title = {{{_bib(source['title'])}}},\n"
        f"  journal = {{{_bib(source['publisher'])}}},\n"
        f"  date = {{{published.isoformat() if published else ''}}},\n"
        f"  url = {{{source['url']}}}\n"
        "}"
    )

    def parts(day: dt.date | None) -> dict[str, list[list[int]]]:
        return {"date-parts": [[day.year, day.month, day.day]]} if day else {}

    csl = [
        {
            "id": key,
            "type": "dataset",
            "title": what,
            "container-title": DATASET_TITLE,
            "version": __version__,
            "URL": url,
            "issued": parts(accessed),
            "note": f"As reported by {source['publisher']}, {_long(published)}.",
            "references": article_key,
        },
        {
            "id": article_key,
            "type": "article-newspaper",
            "title": source["title"],
            "container-title": source["publisher"],
            "issued": parts(published),
            "URL": source["url"],
        },
    ]
    return {"plain": plain, "bibtex": bibtex, "csl": json.dumps(csl, indent=2, ensure_ascii=False)}


def dataset_jsonld(
    base_url: str,
    description: str,
    source: dict[str, Any],
    places: list[str],
    temporal: str,
    loaded_at: Any,
) -> str:
    """schema.org Dataset; `<` escaped so that the text can never close the script element it sits in."""
    published = _date(source["published"])
    document = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": DATASET_TITLE,
        "description": description,
        "url": base_url + "/",
        "version": __version__,
        "isAccessibleForFree": True,
        "isBasedOn": {
            "@type": "NewsArticle",
            "headline": source["title"],
            "publisher": {"@type": "Organization", "name": source["publisher"]},
            "datePublished": published.isoformat() if published else None,
            "url": source["url"],
        },
        "temporalCoverage": temporal,
        "spatialCoverage": [{"@type": "Place", "name": name} for name in places],
        "distribution": [
            {"@type": "DataDownload", "encodingFormat": "application/json", "contentUrl": base_url + "/v1/metrics"},
            {"@type": "DataDownload", "encodingFormat": "text/csv", "contentUrl": base_url + "/v1/metrics?format=csv"},
        ],
        "license": {"@type": "CreativeWork", "name": LICENSE},
        "dateModified": loaded_at.isoformat() if isinstance(loaded_at, dt.datetime) else str(loaded_at),
    }
    text = json.dumps(document, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
