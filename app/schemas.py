"""Public read models: what the API returns (documentation and the OpenAPI contract).

The tables live in app.models; these are their outward shapes, nested in one direction only
(a metric embeds its destination, period and citations; a destination does not embed metrics).
"""

from __future__ import annotations

import datetime as dt
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from app.vocabulary import (
    AttributionBasis,
    AttributionKind,
    CheckKind,
    CheckRole,
    CheckStatus,
    CitationLocation,
    CountryMatch,
    DestinationKind,
    Holds,
    MemberBasis,
    Membership,
    PeriodKind,
    Qualifier,
    Unit,
)

T = TypeVar("T")


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Links(_Public):
    self: str = Field(description="This page.", examples=["/v1/metrics?limit=2&offset=2"])
    next: str | None = Field(default=None, examples=["/v1/metrics?limit=2&offset=4"])
    prev: str | None = Field(default=None, examples=["/v1/metrics?limit=2&offset=0"])
    first: str = Field(examples=["/v1/metrics?limit=2&offset=0"])


class Page(_Public, Generic[T]):
    data: list[T]
    total: int = Field(
        description=(
            "Rows matching the filters, all pages together: exact up to 10,000 (and always, with no filter). When "
            "more match, `total` is 10,000 and `total_is_exact` is false (counting further would cost a scan of "
            "every match)."
        )
    )
    total_is_exact: bool = Field(description="False when more than `total` rows match (see `total`).")
    limit: int
    offset: int
    links: Links


class CitationPublic(_Public):
    id: str = Field(examples=["canada-emigrated-1985-2005.1"])
    metric_id: str
    source_id: str
    position: int
    quote: str = Field(description="Verbatim quote: an exact substring of the source text.")
    prefix: str | None = None
    suffix: str | None = None
    section: str | None = Field(description="Heading the quote sits under; null in the headline and lead.")
    location: CitationLocation
    url: str = Field(description="The article, opened at the quote (URL text fragment).")


class DestinationRef(_Public):
    id: str = Field(examples=["south-east-asia"])
    name: str = Field(description="As the source names it.")
    label: str
    kind: DestinationKind
    code: str | None = None
    note: str | None = Field(
        default=None, description="How the source's name was read: for a group, which members and on what basis."
    )


class PeriodRef(_Public):
    id: str = Field(examples=["1985-2005"])
    label: str
    kind: PeriodKind
    iso: str
    start_date: dt.date
    end_date: dt.date
    note: str | None = Field(
        default=None, description="How the source's wording was read into dates (e.g. years read as inclusive)."
    )


class ReportedBy(_Public):
    """The publication a figure is reported by: every figure is a claim as reported there."""

    source_id: str = Field(examples=["epoch-times-2006-05-03"])
    publisher: str = Field(examples=["The Epoch Times"])
    title: str
    published: dt.date
    url: str


class MetricLinks(_Public):
    """Where the vocabulary a figure uses is described (relative URLs); null where the figure has none."""

    self: str = Field(examples=["/v1/metrics/canada-emigrated-1985-2005"])
    measure: str = Field(examples=["/v1/measures/emigrated"])
    population: str = Field(examples=["/v1/populations/cadre_spouses_children"])
    report: str = Field(examples=["/v1/reports/ccp-org-dept-mps-2006-02"])
    destination: str | None = Field(examples=["/v1/destinations/canada"])
    period: str | None = Field(examples=["/v1/periods/1985-2005"])


class MetricPublic(_Public):
    id: str = Field(examples=["canada-emigrated-1985-2005"])
    report_id: str = Field(
        description=(
            "The report whose account by the article this figure belongs to: the dataset's scope, not a statement "
            "that the report gives the figure (that is `attributed_to`)."
        )
    )
    attributed_to: str = Field(
        description=(
            "Who states the figure, as the article presents it: an attribution id (`/v1/attributions`): the "
            "report, the unidentified survey the article introduces, or the article itself."
        ),
        examples=["following-survey"],
    )
    attribution_kind: AttributionKind
    attribution_basis: AttributionBasis = Field(
        description=(
            "`explicit`: the figure's sentence (or the one introducing its list) names who states it; `section`: "
            "it continues a paragraph that does; `none`: nothing attributes it (the article's own voice)."
        )
    )
    attribution_quote: str | None = Field(description="The verbatim words that attribute it; null for `none`.")
    attribution_note: str | None = Field(description="How the attribution was read.")
    as_reported_by: ReportedBy = Field(description="The publication, date and URL the figure is reported by.")
    measure: str = Field(examples=["emigrated"])
    measure_label: str
    measure_note: str | None = Field(description="How the source's wording of the measure was read (stock, flow).")
    population: str = Field(examples=["cadre_spouses_children"])
    population_label: str
    unit: Unit
    value_text: str = Field(description="The figure as printed.", examples=["225,000"])
    qualifier: Qualifier
    lower: int = Field(
        description="Lower bound in base units (persons, cases, US dollars): every qualifier states one."
    )
    lower_inclusive: bool
    upper: int | None = Field(description="Upper bound in base units; null = open (no upper bound stated).")
    upper_inclusive: bool | None
    destination: DestinationRef | None = Field(description="Null where the source states no destination.")
    period: PeriodRef | None = Field(description="Null where the source states no period.")
    country_match: CountryMatch | None = Field(
        default=None,
        description="With `country=`: `exact` (the destination is that country) or `group` (a group containing it).",
    )
    country_match_basis: MemberBasis | None = Field(
        default=None,
        description=(
            "With `country=`: `source` (the source names that place, alone or as a member of the group) or "
            "`interpretation` (the group's membership is our reading: see the destination's `note`)."
        ),
    )
    country_match_href: str | None = Field(
        default=None, description="With `country=`: the matched destination, whose `note` states the membership."
    )
    note: str | None = None
    citations: list[CitationPublic]
    checks: list[str] = Field(default_factory=list, description="Ids of the consistency checks this figure is in.")
    links: MetricLinks = Field(description="The figure itself and the vocabulary it uses, as resources.")


class FacetValue(_Public):
    value: str | None = Field(description="The value (an id or a vocabulary term); null: the figures without one.")
    count: int = Field(description="Figures in the filtered set with this value.")


class MetricPage(Page[MetricPublic]):
    facets: dict[str, list[FacetValue]] | None = Field(
        default=None,
        description="With `facet=`: for each facet asked, the count of filtered figures per value, largest first.",
    )


class MeasurePublic(_Public):
    id: str = Field(examples=["emigrated"])
    label: str = Field(description="What is counted, in the source's words.")
    note: str | None = Field(default=None, description="How the source's wording was read (a stock or a flow).")
    metric_count: int


class PopulationPublic(_Public):
    id: str = Field(examples=["senior_cadre_spouses_children"])
    label: str = Field(description="Whose figures, in the source's words.")
    part_of: str | None = Field(description="The population this one is a subset of, as the source says; null: none.")
    parts: list[str] = Field(description="The populations that are subsets of this one.")
    metric_count: int


class SourcePublic(_Public):
    id: str = Field(examples=["epoch-times-2006-05-03"])
    title: str
    publisher: str
    byline: str | None
    url: str
    published: dt.date
    updated: dt.date | None
    language: str
    note: str | None = Field(description="What a reader must know about the fields as printed (e.g. the byline).")
    report_ids: list[str] = Field(description="Reports this source describes.")
    citation_count: int


class ReportPublic(_Public):
    id: str = Field(examples=["ccp-org-dept-mps-2006-02"])
    description: str
    issuers: list[str]
    recipients: list[str]
    issued_text: str | None
    issued_start: dt.date | None
    issued_end: dt.date | None
    transmitted_text: str | None
    transmitted_start: dt.date | None
    transmitted_end: dt.date | None
    transmitted_to: list[str]
    instructions_by: list[str] = Field(description="Who wrote the instructions the report was transmitted with.")
    instructions_quote: str | None = Field(description="The verbatim sentence about those written instructions.")
    quote: str | None
    note: str | None
    source_ids: list[str]
    metric_count: int


class PeriodPublic(PeriodRef):
    metric_count: int


class MemberPublic(_Public):
    code: str = Field(examples=["SG"])
    name: str
    basis: MemberBasis = Field(description="`source`: the source names it; `interpretation`: our reading.")
    destination_id: str | None = Field(description="The destination with this code, if the source names it alone.")


class GroupRef(_Public):
    id: str
    name: str
    label: str
    kind: DestinationKind


class DestinationPublic(DestinationRef):
    membership: Membership | None
    members: list[MemberPublic]
    groups: list[GroupRef] = Field(description="Groups whose member list includes this place.")
    metric_count: int


class AttributionPublic(_Public):
    id: str = Field(examples=["following-survey"])
    kind: AttributionKind
    label: str = Field(description="Who, in the source's words.")
    source_id: str = Field(description="The publication that presents it.")
    report_id: str | None = Field(description="For kind `report`: the report.")
    quote: str | None = Field(description="The verbatim sentence by which the source introduces it.")
    note: str | None
    metric_count: int


class IndexLink(_Public):
    href: str
    title: str


class IndexPublic(_Public):
    title: str
    description: str
    attribution: str
    source_url: str
    dataset_signature: str
    loaded_at: dt.datetime
    links: dict[str, IndexLink]


class CheckInput(_Public):
    metric_id: str = Field(examples=["emigrated-1985-1990"])
    role: CheckRole = Field(
        description=(
            "How the figure enters the check: part/total (sums), subset/superset, numerator/denominator (ratios), "
            "stated/restated, or reference (another pair's ratio the outlier test compares against)."
        )
    )
    href: str = Field(examples=["/v1/metrics/emigrated-1985-1990"])


class CheckPublic(_Public):
    id: str = Field(examples=["sum-periods-vs-settled-2005"])
    kind: CheckKind
    statement: str = Field(description="What is compared with what, in plain language.")
    status: CheckStatus = Field(
        description=(
            "`pass`: the figures agree under the declared relation; `warn`: they agree, but a plausibility rule "
            "flags them; `fail`: the figures as printed cannot all hold under the relation (a finding about the "
            "source, not an error of the dataset); `info`: the text states no relation between the figures, so the "
            "comparison rests on our reading only (see `assumptions`) and its outcome, in `holds`, is not a finding "
            "about the source."
        )
    )
    holds: Holds = Field(
        description="Whether the relation holds for every, some or none of the values the stated bounds allow."
    )
    unit: str
    expected_text: str
    observed_text: str
    expected_value: float | None
    observed_value: float | None
    abs_difference: float | None
    rel_difference: float | None = Field(description="abs_difference / |expected_value|, as a fraction.")
    arithmetic: str
    explanation: str
    assumptions: list[str] = Field(
        description="What makes the figures comparable that the text does not state: the readings the result rests on."
    )
    metrics: list[CheckInput] = Field(description="The figures compared, in order, with their roles.")
