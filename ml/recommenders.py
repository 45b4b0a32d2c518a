"""Recommendations: services for a guest, room types for a stay request.

Both read the marts as of the timeline's day (stays arriving by then, folio lines served by
then, cancellations settled by then) and are evaluated out of time per property: each
hotel's held-out period is its last ``evaluation_months`` of arrivals up to the as-of day
(``Timeline.windows``); the models learn from the arrivals before it and are scored on what
guests consumed / booked in it, against a popularity baseline computed on the same history.
A hotel with too little history before its held-out period trains the model with all its
rows and is reported ``evaluated: false`` with the reason (as is a hotel without guest ids,
for services). ``by_property`` gives each hotel's figures next to the baseline's; the group
row pools every held-out stay / booking.

Services (folio extras: the descriptions of the non-room folio lines, e.g. "Bar",
"Massage 60 min"). One XGBoost classifier scores P(item consumed during a stay | stay
context, guest's own history, guest segment, item): context is what is known at check-in
(hotel, nights, adults, children, meal plan, market segment) and the history is the
guest's item counts and rates over earlier stays, so it blends the guest's own history
with segment- and context-conditional popularity. A stay whose guest has no history gets
the conditional popularity alone. Evaluation unit: a stay of a held-out period with at
least one extra; a hit when one of the 5 recommended services was consumed during it. The
recommender keeps each guest's profile (history counts, segment, usual context) as of the
first day of the earliest held-out period; ``ServiceRecommender.for_serving(marts)``
rebuilds them from the stays arrived by today for serving without retraining.

Rooms: one multi-class XGBoost over the room type codes (reserved room type), features
hotel, adults, children, nights, budget per night (optional), guest segment, arrival
month (optional); predictions are restricted to the room types of the requested hotel.
Trained on the bookings of every hotel (a layout without guest segments has it derived
from the market segment as the generator does), budget hidden on half the
training rows so a request without budget is scored as such. The primary metric hides the
budget (a request rarely states the exact rate); ``hit_rate_at_k_with_budget`` gives the
budget as the rate the booking paid (optimistic). Most hotels have 3 to 10 room types, so
hit-rate@5 saturates: hit-rate@1 and @3 and the mean reciprocal rank are reported too.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from typing import Any

import duckdb
import mlflow
import numpy as np
import pandas as pd
from xgboost import XGBClassifier

from ml.registry import GROUP, Candidate
from ml.timeline import PropertyWindow, Timeline

NTHREAD = 2
SEED = 42
TOP_K = 5
GUEST_SEGMENTS = ("business", "leisure", "corporate", "group")
SEGMENT_OF_MARKET = {
    "Corporate": "corporate", "Aviation": "corporate", "Groups": "group",
    "Direct": "leisure", "Online TA": "leisure", "Offline TA/TO": "leisure", "Complementary": "leisure",
}
MEALS = ("BB", "HB", "FB", "SC", "Undefined")
MAX_ROOM_TRAIN_ROWS = 40_000
MAX_ROOM_TEST_ROWS_PER_HOTEL = 4_000
MAX_BASKETS = 50_000


def _by_property(hotels: list[str], windows: dict[str, PropertyWindow], hotel_of_row,
                 ranked: list[list[str]], truth: list[set[str]], base: list[list[str]],
                 metrics: dict, baseline: dict, missing: str) -> pd.DataFrame:
    """One row per hotel (its held-out figures next to popularity's, or why none) and the
    group (every held-out row)."""
    rows = []
    hotel_of_row = np.asarray(hotel_of_row, dtype=object)
    for hotel in hotels:
        w = windows.get(hotel)
        idx = np.flatnonzero(hotel_of_row == hotel)
        row = {"hotel": hotel, "evaluated": False, "reason": missing, "rows": len(idx)}
        if w is not None:
            row.update(w.as_dict(), rows=len(idx))
            if w.evaluated and not len(idx):
                row.update(evaluated=False, reason="nothing to score in its held-out period")
            elif w.evaluated:
                pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
                row.update(ranking_metrics(pick(ranked), pick(truth)),
                           **{f"baseline_{k}": v for k, v in ranking_metrics(pick(base), pick(truth)).items()})
        rows.append(row)
    rows.append({"hotel": GROUP, "evaluated": bool(len(truth)),
                 "reason": None if len(truth) else "no hotel has a held-out period to score",
                 "rows": len(truth), **metrics, **{f"baseline_{k}": v for k, v in baseline.items()}})
    out = pd.DataFrame(rows)
    for col in [*metrics, *(f"baseline_{k}" for k in baseline)]:
        if col not in out:
            out[col] = np.nan
    return out


def _hits(ranked: list[list[str]], truth: list[set[str]], k: int) -> float:
    return float(np.mean([bool(set(r[:k]) & t) for r, t in zip(ranked, truth)])) if ranked else float("nan")


def _mrr(ranked: list[list[str]], truth: list[set[str]]) -> float:
    rr = []
    for r, t in zip(ranked, truth):
        rank = next((i + 1 for i, x in enumerate(r) if x in t), None)
        rr.append(1.0 / rank if rank else 0.0)
    return float(np.mean(rr)) if rr else float("nan")


def ranking_metrics(ranked: list[list[str]], truth: list[set[str]]) -> dict[str, float]:
    return {
        "hit_rate_at_1": _hits(ranked, truth, 1),
        "hit_rate_at_3": _hits(ranked, truth, 3),
        "hit_rate_at_5": _hits(ranked, truth, 5),
        "mrr": _mrr(ranked, truth),
    }


def _figure(model: dict[str, float], baseline: dict[str, float], title: str):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    keys = [k for k in model if k.startswith("hit_rate_at_") and k in baseline] + ["mrr"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(len(keys))
    ax.bar(x - 0.2, [model[k] for k in keys], 0.4, label="model")
    ax.bar(x + 0.2, [baseline[k] for k in keys], 0.4, label="popularity")
    ax.set_xticks(x, keys, rotation=20)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig


# ----------------------------------------------------------------------------- services

SERVICE_CONTEXT = ["hotel", "nights", "adults", "children", "meal", "market_segment"]
SERVICE_NUMERIC = ["nights", "adults", "children", "prior_stays", "prior_nights", "prior_item_stays",
                   "prior_item_share", "prior_any_category", "prior_category_share"]
SERVICE_CATEGORICAL = ["hotel", "meal", "market_segment", "segment", "item", "category"]


def _stays(marts: duckdb.DuckDBPyConnection, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stays of guests with an id arrived by ``as_of``, with their context, and the extras
    served by then."""
    stays = _guest_stays(marts, as_of)
    lines = marts.execute(
        """
        select booking_id, description as item, category, count(*) as n
        from staging.stg_pms_folio_lines
        where category <> 'room' and booking_id is not null and service_date <= $as_of
        group by all
        """, {"as_of": as_of}
    ).df()
    return stays, lines


def _guest_stays(marts: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Stays of guests with an id arrived by ``as_of`` and not cancelled by then, with their
    context."""
    return marts.execute(
        """
        select b.booking_id, b.guest_id, b.hotel, b.arrival_date, b.nights, b.adults,
               coalesce(b.children, 0) + coalesce(b.babies, 0) as children, b.meal, b.market_segment,
               coalesce(g.segment, 'leisure') as segment
        from fct_bookings b left join dim_guests g using (guest_id)
        where b.guest_id is not null and b.arrival_date <= $as_of
          and coalesce(b.booking_date, b.arrival_date) <= $as_of
          and not (b.is_canceled and coalesce(b.reservation_status_date <= $as_of, true))
        order by b.guest_id, b.arrival_date, b.booking_id
        """, {"as_of": as_of}
    ).df()


def _catalogue(lines: pd.DataFrame) -> pd.DataFrame:
    return lines.groupby(["item", "category"], as_index=False)["n"].sum().sort_values("item").reset_index(drop=True)


def _item_matrix(stays: pd.DataFrame, lines: pd.DataFrame, items: list[str]) -> np.ndarray:
    """(stays, items) count of folio lines per stay and item."""
    pos = pd.Series(np.arange(len(stays)), index=stays["booking_id"].to_numpy())
    ln = lines[lines["booking_id"].isin(pos.index) & lines["item"].isin(items)]
    m = np.zeros((len(stays), len(items)), dtype=np.float32)
    np.add.at(m, (pos[ln["booking_id"]].to_numpy(), pd.Index(items).get_indexer(ln["item"])), ln["n"].to_numpy())
    return m


class ServiceRecommender(mlflow.pyfunc.PythonModel):
    """Top services for guests. Input: guest_id, optional segment, optional stay context
    (hotel, nights, adults, children, meal, market_segment); params top_k (default 5).
    Output: guest_id, recommendations (JSON list of {service, category, score, reason})."""

    def __init__(self, classifier: XGBClassifier, catalogue: pd.DataFrame, categories: dict[str, list[str]],
                 profiles: pd.DataFrame, history: np.ndarray, defaults: dict, segment_popularity: dict,
                 as_of: date, baskets: np.ndarray):
        self.classifier = classifier
        self.baskets = baskets  # (stays, items) bool: items consumed together, for the set selection
        self.catalogue = catalogue  # item, category, n
        self.categories = categories
        self.profiles = profiles  # index guest_id: segment, usual context, prior_stays, prior_nights
        self.history = history  # (guests, items) stays with the item before as_of, aligned with profiles
        self.defaults = defaults
        self.segment_popularity = segment_popularity  # segment -> list of items, most popular first
        self.as_of = as_of

    @property
    def items(self) -> list[str]:
        return self.catalogue["item"].tolist()

    def with_profiles(self, marts: duckdb.DuckDBPyConnection, as_of: date | None = None) -> "ServiceRecommender":
        """A copy whose guest profiles include every stay arrived by as_of (default: today)."""
        as_of = as_of or date.today()
        stays, lines = _stays(marts, as_of)
        profiles, history = _profiles(stays, lines, self.items, as_of + timedelta(days=1))
        return ServiceRecommender(self.classifier, self.catalogue, self.categories, profiles, history,
                                  self.defaults, self.segment_popularity, as_of, self.baskets)

    def for_serving(self, marts: duckdb.DuckDBPyConnection | None,
                    as_of: date | None = None) -> "ServiceRecommender":
        """The model as the API serves it: guest profiles from every stay arrived by as_of
        (default: today; the model was fitted on a past cut-off, and bookings still on the
        books are not stays yet) and each service's average charge per stay that had it, both
        from the marts (fct_bookings, dim_guests, fct_booking_services). Without marts: the
        training-time profiles and no charges."""
        if marts is None:
            return self
        as_of = as_of or date.today()
        lines = marts.execute("select booking_id, service as item, category, lines as n "
                              "from fct_booking_services").df()
        profiles, history = _profiles(_guest_stays(marts, as_of), lines, self.items,
                                      as_of + timedelta(days=1))
        model = ServiceRecommender(self.classifier, self.catalogue, self.categories, profiles, history,
                                   self.defaults, self.segment_popularity, as_of, self.baskets)
        model.charges = dict(marts.execute(
            "select service, round(avg(amount), 2) from fct_booking_services group by service").fetchall())
        return model

    def knows(self, guest_id: str) -> bool:
        """Whether the guest has a profile (a past stay)."""
        return guest_id in self.profiles.index

    def average_charge(self, service: str) -> float | None:
        """A service's average charge per stay that had it (known once `for_serving`)."""
        return self.__dict__.get("charges", {}).get(service)

    def recommend(self, stay: dict[str, Any], top_k: int = TOP_K) -> list[dict[str, Any]]:
        """The top services for one stay (guest_id; segment and context optional, the
        guest's profile fills the rest): service, category, score, reason."""
        out = self.predict(pd.DataFrame([stay]), params={"top_k": top_k})
        return json.loads(out["recommendations"].iat[0])

    def select(self, scores: np.ndarray, k: int) -> list[int]:
        """Greedy top-k set: each slot goes to the service most likely consumed when none of
        the services already chosen is (P(j | stay) x P(none chosen | j), the latter from
        item co-occurrence), so the list covers different needs instead of five
        near-duplicates of one habit."""
        chosen: list[int] = []
        cache = getattr(self, "_none_given", None)
        if cache is None:
            cache = self._none_given = {}
        for _ in range(min(k, len(scores))):
            key = tuple(sorted(chosen))
            if key not in cache:
                b = self.baskets
                none = ~b[:, list(key)].any(axis=1) if key else np.ones(len(b), dtype=bool)
                with_j = b.sum(axis=0)
                cache[key] = np.where(with_j > 0, (b & none[:, None]).sum(axis=0) / np.maximum(with_j, 1), 1.0)
            gain = scores * cache[key]
            gain[chosen] = -1.0
            chosen.append(int(np.argmax(gain)))
        return chosen

    def _context(self, model_input: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Stay context per row: given columns first, then the guest's profile, then defaults."""
        ids = model_input["guest_id"].astype(str).to_numpy()
        known = self.profiles.reindex(ids)
        ctx = pd.DataFrame({"guest_id": ids})
        for col in ["segment", *SERVICE_CONTEXT, "prior_stays", "prior_nights"]:
            values = known[col].to_numpy(dtype=object)
            if col in model_input.columns and col not in ("prior_stays", "prior_nights"):
                given = model_input[col].to_numpy(dtype=object)
                values = np.where(pd.notna(given), given, values)
            ctx[col] = np.where(pd.notna(values), values, self.defaults.get(col))
        row = self.profiles.index.get_indexer(ids)
        hist = np.where(row[:, None] >= 0, self.history[np.maximum(row, 0)], 0.0)
        return ctx, hist

    def _scores(self, ctx: pd.DataFrame, hist: np.ndarray) -> np.ndarray:
        x = _service_rows(ctx, hist, self.catalogue, self.categories)
        return self.classifier.predict_proba(x)[:, 1].reshape(len(ctx), len(self.catalogue))

    def rank(self, model_input: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        ctx, hist = self._context(model_input)
        return ctx, hist, self._scores(ctx, hist)

    def predict(self, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        if "guest_id" not in model_input.columns:
            raise ValueError("services input needs a guest_id column")
        top_k = int((params or {}).get("top_k", TOP_K))
        ctx, hist, scores = self.rank(model_input)
        items, cats = self.items, self.catalogue["category"].tolist()
        out = []
        for i in range(len(ctx)):
            order = self.select(scores[i], top_k)
            seg = str(ctx["segment"].iat[i])
            seg_rank = self.segment_popularity.get(seg, [])
            recs = []
            for j in order:
                if hist[i, j] > 0:
                    reason = f"you had it on {int(hist[i, j])} previous stay(s)"
                elif items[j] in seg_rank[:3]:
                    reason = f"popular with {seg} guests"
                else:
                    reason = f"often taken on similar stays at {ctx['hotel'].iat[i]}"
                recs.append({"service": items[j], "category": cats[j], "score": round(float(scores[i, j]), 4),
                             "reason": reason})
            out.append(json.dumps(recs))
        return pd.DataFrame({"guest_id": ctx["guest_id"].to_numpy(), "recommendations": out})


def _service_rows(ctx: pd.DataFrame, hist: np.ndarray, catalogue: pd.DataFrame, categories: dict) -> pd.DataFrame:
    """One row per (stay, item): context, the guest's history of this item and its category."""
    n, k = hist.shape
    cats = catalogue["category"].to_numpy()
    cat_names = sorted(set(cats))
    cat_hist = np.stack([hist[:, cats == c].sum(axis=1) for c in cat_names], axis=1)  # item-stays per category
    prior_stays = pd.to_numeric(ctx["prior_stays"], errors="coerce").fillna(0).to_numpy(dtype=float)
    denom = np.maximum(prior_stays, 1)[:, None]
    rep = lambda a: np.repeat(np.asarray(a), k)  # noqa: E731
    x = pd.DataFrame({
        "nights": rep(pd.to_numeric(ctx["nights"], errors="coerce").to_numpy(dtype=float)),
        "adults": rep(pd.to_numeric(ctx["adults"], errors="coerce").to_numpy(dtype=float)),
        "children": rep(pd.to_numeric(ctx["children"], errors="coerce").to_numpy(dtype=float)),
        "prior_stays": rep(prior_stays),
        "prior_nights": rep(pd.to_numeric(ctx["prior_nights"], errors="coerce").fillna(0).to_numpy(dtype=float)),
        "prior_item_stays": hist.reshape(-1),
        "prior_item_share": np.where(prior_stays[:, None] > 0, hist / denom, np.nan).reshape(-1),
        "prior_any_category": cat_hist[:, [cat_names.index(c) for c in cats]].reshape(-1),
        "prior_category_share": np.where(prior_stays[:, None] > 0,
                                         cat_hist[:, [cat_names.index(c) for c in cats]] / denom, np.nan).reshape(-1),
    })
    for col, values in (("hotel", rep(ctx["hotel"].astype(str))), ("meal", rep(ctx["meal"].astype(str))),
                        ("market_segment", rep(ctx["market_segment"].astype(str))),
                        ("segment", rep(ctx["segment"].astype(str))),
                        ("item", np.tile(catalogue["item"].to_numpy(), n)), ("category", np.tile(cats, n))):
        x[col] = pd.Categorical(values, categories=categories[col])
    return x[SERVICE_NUMERIC + SERVICE_CATEGORICAL]


def _modal(values: pd.Series):
    """The most frequent value; None when there is none (a layout without the field)."""
    mode = values.mode()
    return mode.iat[0] if len(mode) else None


def _profiles(stays: pd.DataFrame, lines: pd.DataFrame, items: list[str], as_of: date) -> tuple[pd.DataFrame, np.ndarray]:
    """Per guest, from stays arriving before as_of: stays with each item, segment, usual context."""
    past = stays[stays["arrival_date"] < pd.Timestamp(as_of)].reset_index(drop=True)
    m = (_item_matrix(past, lines, items) > 0).astype(np.float32)
    g = past["guest_id"].astype(str)
    codes, uniq = pd.factorize(g, sort=True)
    hist = np.zeros((len(uniq), len(items)), dtype=np.float32)
    np.add.at(hist, codes, m)
    grouped = past.assign(guest_id=g).groupby("guest_id", sort=True)
    profiles = pd.DataFrame({
        "segment": grouped["segment"].last(),
        "hotel": grouped["hotel"].agg(_modal),
        "nights": grouped["nights"].median(),
        "adults": grouped["adults"].median(),
        "children": grouped["children"].median(),
        "meal": grouped["meal"].agg(_modal),
        "market_segment": grouped["market_segment"].agg(_modal),
        "prior_stays": grouped.size().astype(float),
        "prior_nights": grouped["nights"].sum().astype(float),
    })
    return profiles.loc[list(uniq)], hist


def _hotels(marts: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    """Every hotel with an arrival by the as-of day."""
    return [h for (h,) in marts.execute(
        "select distinct hotel from fct_bookings where arrival_date <= $as_of and hotel is not null "
        "order by hotel", {"as_of": as_of}).fetchall()]


def train_services(marts: duckdb.DuckDBPyConnection, timeline: Timeline) -> Candidate:
    started = time.perf_counter()
    stays, lines = _stays(marts, timeline.as_of)
    if stays.empty:
        raise ValueError(f"no stay of a guest with a guest_id arrived by {timeline.as_of}: service "
                         "recommendations need guest ids (the synthetic chain, or a PMS that exports them)")
    catalogue = _catalogue(lines)
    items = catalogue["item"].tolist()
    consumed = _item_matrix(stays, lines, items) > 0

    # Point-in-time history: the guest's stays with each item before this stay.
    g = stays["guest_id"].astype(str).to_numpy()
    run = pd.DataFrame(consumed.astype(np.float32)).groupby(g, sort=False).cumsum().to_numpy()
    cum = run - consumed
    prior_stays = stays.groupby(g, sort=False).cumcount().to_numpy(dtype=float)
    prior_nights = stays.groupby(g, sort=False)["nights"].cumsum().to_numpy(dtype=float) - stays["nights"].to_numpy()

    windows, _, before, test_rows = timeline.held_out(stays)
    # Guest history as of the first held-out day (the earliest one, when hotels differ).
    starts = [w.test_start for w in windows.values() if w.evaluated]
    cutoff = min(starts) if starts else timeline.as_of + timedelta(days=1)
    categories = {
        "hotel": sorted(stays["hotel"].astype(str).unique()),
        "meal": sorted(set(MEALS) | set(stays["meal"].astype(str))),
        "market_segment": sorted(stays["market_segment"].astype(str).unique()),
        "segment": list(GUEST_SEGMENTS),
        "item": items,
        "category": sorted(catalogue["category"].unique()),
    }
    ctx = stays.assign(prior_stays=prior_stays, prior_nights=prior_nights)
    x_train = _service_rows(ctx[before].reset_index(drop=True), cum[before], catalogue, categories)
    y_train = consumed[before].reshape(-1)
    classifier = XGBClassifier(objective="binary:logistic", n_estimators=250, learning_rate=0.05, max_depth=5,
                               min_child_weight=5, subsample=0.9, colsample_bytree=0.9, tree_method="hist",
                               enable_categorical=True, n_jobs=NTHREAD, random_state=SEED, eval_metric="logloss")
    classifier.fit(x_train, y_train)

    train_stays = stays[before]
    popularity = consumed[before].sum(axis=0)
    seg_pop = {}
    for seg in GUEST_SEGMENTS:
        mask = (train_stays["segment"] == seg).to_numpy()
        counts = consumed[before][mask].sum(axis=0)
        seg_pop[seg] = [items[j] for j in np.argsort(-counts, kind="stable")]
    profiles, history = _profiles(stays, lines, items, cutoff)
    defaults = {"segment": "leisure", "hotel": _modal(train_stays["hotel"]), "nights": float(train_stays["nights"].median()),
                "adults": float(train_stays["adults"].median()), "children": 0.0, "meal": _modal(train_stays["meal"]),
                "market_segment": _modal(train_stays["market_segment"]), "prior_stays": 0.0, "prior_nights": 0.0}
    baskets = consumed[before & consumed.any(axis=1)]
    if len(baskets) > MAX_BASKETS:
        baskets = baskets[np.random.default_rng(SEED).choice(len(baskets), MAX_BASKETS, replace=False)]
    model = ServiceRecommender(classifier, catalogue, categories, profiles, history, defaults, seg_pop, cutoff,
                               baskets)
    training_seconds = time.perf_counter() - started

    # Held out: stays of the held-out periods with at least one extra; context known at
    # check-in, guest history as of the cutoff (the model's profiles).
    test = test_rows & consumed.any(axis=1)
    eval_input = stays.loc[test, ["guest_id", "segment", *SERVICE_CONTEXT]].reset_index(drop=True)
    eval_input["guest_id"] = eval_input["guest_id"].astype(str)
    for col in ("nights", "adults", "children"):
        eval_input[col] = eval_input[col].astype(float)
    # Every column but guest_id is optional: the example's last row leaves them out, so the
    # inferred signature marks them optional.
    shown = eval_input if len(eval_input) else stays[["guest_id", "segment", *SERVICE_CONTEXT]].astype(
        {"guest_id": str, "nights": float, "adults": float, "children": float})
    example = pd.concat([shown.head(4), pd.DataFrame({"guest_id": ["G-NEW"]})], ignore_index=True)
    truth = [set(np.asarray(items)[row]) for row in consumed[test]]
    popular = [items[j] for j in np.argsort(-popularity, kind="stable")]

    def ranked_by(loaded) -> list[list[str]]:
        if eval_input.empty:  # no hotel evaluated yet: nothing to rank
            return []
        out = loaded.predict(eval_input, params={"top_k": TOP_K})
        return [[r["service"] for r in json.loads(s)] for s in out["recommendations"]]

    ranked = ranked_by(model)
    metrics = ranking_metrics(ranked, truth)
    baseline = ranking_metrics([popular] * len(truth), truth)
    metrics["test_stays"] = float(len(truth))
    metrics["test_stays_returning_guests"] = float(eval_input["guest_id"].isin(profiles.index).sum())
    by_property = _by_property(_hotels(marts, timeline.as_of), windows, eval_input["hotel"], ranked, truth,
                               [popular] * len(truth), metrics, baseline,
                               "no stay of it carries a guest_id: service recommendations need guest ids")
    returning = eval_input["guest_id"].isin(profiles.index).to_numpy()
    for i, hotel in enumerate(by_property["hotel"]):
        m = (eval_input["hotel"] == hotel).to_numpy() if hotel != GROUP else np.ones(len(eval_input), bool)
        if by_property.at[i, "evaluated"]:
            by_property.loc[i, ["test_stays", "test_stays_returning_guests"]] = [float(m.sum()),
                                                                                 float(returning[m].sum())]

    def score(loaded) -> float:
        return _hits(ranked_by(loaded), truth, TOP_K)

    return Candidate(
        name="recommend_services", model=model, input_example=example, primary="hit_rate_at_5",
        higher_is_better=True, metrics=metrics, baseline=baseline, score=score,
        params={**timeline.params(), "cutoff": cutoff.isoformat(), "items": len(items),
                "train_stays": int(before.sum()),
                "held_out": "; ".join(f"{w.hotel} from {w.test_start}" for w in windows.values()
                                      if w.evaluated)[:6000],
                "n_estimators": 250, "max_depth": 5, "baseline": "most popular services overall before the cutoff",
                "evaluation_unit": "held-out stay with >= 1 extra; hit = a top-5 service consumed",
                "training_seconds": round(training_seconds, 2)},
        figures={"services_hit_rate": _figure(metrics, baseline, "Services: model vs popularity")},
        tables={"services_popularity": pd.DataFrame({"service": items, "stays_before_cutoff": popularity})},
        by_property=by_property,
    )


# ----------------------------------------------------------------------------- rooms

ROOM_NUMERIC = ["adults", "children", "nights", "budget", "arrival_month"]
ROOM_CATEGORICAL = ["hotel", "segment"]


def _room_bookings(marts: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Bookings arriving by the as-of day, with the room type reserved (known at booking)."""
    df = marts.execute(
        """
        select b.hotel, b.arrival_date, b.adults, coalesce(b.children, 0) + coalesce(b.babies, 0) as children,
               b.nights, b.adr, b.market_segment, g.segment as guest_segment, b.reserved_room_type as room_type
        from fct_bookings b left join dim_guests g using (guest_id)
        where b.reserved_room_type is not null and b.adults + coalesce(b.children, 0) + coalesce(b.babies, 0) > 0
          and b.arrival_date <= $as_of and coalesce(b.booking_date, b.arrival_date) <= $as_of
        order by b.hotel, b.arrival_date, b.booking_id
        """, {"as_of": as_of}
    ).df()
    derived = df["market_segment"].map(SEGMENT_OF_MARKET).fillna("leisure")
    df["segment"] = df["guest_segment"].fillna(derived)
    df["budget"] = df["adr"].where(df["adr"] > 0)
    df["arrival_month"] = pd.to_datetime(df["arrival_date"]).dt.month.astype(float)
    return df


class RoomRecommender(mlflow.pyfunc.PythonModel):
    """Ranked room types of a hotel for stay requests. Input: hotel, adults, children, nights,
    budget (per night, optional), segment, arrival_month (optional). Output per request:
    hotel, recommendations (JSON list of {room_type, score, typical_rate, reason})."""

    def __init__(self, classifier: XGBClassifier, room_types: list[str], hotel_types: dict[str, list[str]],
                 typical_rate: dict[tuple[str, str], float], categories: dict[str, list[str]], as_of: date):
        self.classifier = classifier
        self.room_types = room_types  # class index -> code
        self.hotel_types = hotel_types
        self.typical_rate = typical_rate
        self.categories = categories
        self.as_of = as_of

    def hotels(self) -> list[str]:
        """The hotels with room data."""
        return sorted(self.hotel_types)

    def budget_band(self, hotel: str, band: str) -> float | None:
        """The nightly budget of "low", "medium" or "high": the top of that third of the
        hotel's typical room rates (None without rates)."""
        rates = sorted(r for (h, _), r in self.typical_rate.items() if h == hotel and r)
        if not rates:
            return None
        return float(np.quantile(rates, {"low": 1 / 3, "medium": 2 / 3, "high": 1.0}[band]))

    def recommend(self, stay: dict[str, Any], top_k: int = TOP_K) -> list[dict[str, Any]]:
        """The top room types for one stay request: room_type, score, typical_rate, reason."""
        out = self.predict(pd.DataFrame([stay]), params={"top_k": top_k})
        return json.loads(out["recommendations"].iat[0])

    def _matrix(self, model_input: pd.DataFrame) -> pd.DataFrame:
        x = pd.DataFrame(index=range(len(model_input)))
        for col in ROOM_NUMERIC:
            x[col] = (pd.to_numeric(model_input[col], errors="coerce").to_numpy(dtype=float)
                      if col in model_input.columns else np.nan)
        x["children"] = x["children"].fillna(0.0)
        for col in ROOM_CATEGORICAL:
            values = (model_input[col].where(model_input[col].notna(), None).to_numpy(dtype=object)
                      if col in model_input.columns else np.full(len(model_input), None))
            if col == "segment":
                values = np.where(pd.notna(values), values, "leisure")
            x[col] = pd.Categorical(values.astype(str), categories=self.categories[col])
        return x[ROOM_NUMERIC + ROOM_CATEGORICAL]

    def rank(self, model_input: pd.DataFrame) -> list[list[tuple[str, float]]]:
        missing = [c for c in ("hotel", "adults", "nights") if c not in model_input.columns]
        if missing:
            raise ValueError(f"rooms input lacks columns {missing}")
        proba = self.classifier.predict_proba(self._matrix(model_input))
        out = []
        for i, hotel in enumerate(model_input["hotel"].astype(str)):
            types = self.hotel_types.get(hotel)
            if not types:
                raise ValueError(f"unknown hotel {hotel!r}")
            idx = [self.room_types.index(t) for t in types]
            p = proba[i, idx]
            p = p / p.sum() if p.sum() > 0 else np.full(len(idx), 1.0 / len(idx))
            order = np.argsort(-p, kind="stable")
            out.append([(types[j], float(p[j])) for j in order])
        return out

    def predict(self, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        top_k = int((params or {}).get("top_k", TOP_K))
        ranked = self.rank(model_input)
        budget = (pd.to_numeric(model_input["budget"], errors="coerce").to_numpy(dtype=float)
                  if "budget" in model_input.columns else np.full(len(model_input), np.nan))
        out = []
        for i, (hotel, ranking) in enumerate(zip(model_input["hotel"].astype(str), ranked)):
            party = int(pd.to_numeric(model_input["adults"].iat[i])) + int(
                pd.to_numeric(model_input["children"].iat[i]) if "children" in model_input.columns
                and pd.notna(model_input["children"].iat[i]) else 0)
            recs = []
            for rank, (room_type, p) in enumerate(ranking[:top_k]):
                rate = self.typical_rate.get((hotel, room_type))
                if np.isfinite(budget[i]) and rate is not None and rate > budget[i] * 1.1:
                    reason = f"above the budget (typical rate {rate:.0f})"
                elif rank == 0:
                    reason = f"most often taken by similar requests (party of {party})"
                elif np.isfinite(budget[i]) and rate is not None:
                    reason = f"fits the budget (typical rate {rate:.0f})"
                else:
                    reason = f"also taken by similar requests ({p:.0%})"
                recs.append({"room_type": room_type, "score": round(p, 4),
                             "typical_rate": None if rate is None else round(rate, 2), "reason": reason})
            out.append(json.dumps(recs))
        return pd.DataFrame({"hotel": model_input["hotel"].astype(str).to_numpy(), "recommendations": out})


def train_rooms(marts: duckdb.DuckDBPyConnection, timeline: Timeline) -> Candidate:
    started = time.perf_counter()
    df = _room_bookings(marts, timeline.as_of)
    if df.empty:
        raise ValueError(f"no booking with a room type arrived by {timeline.as_of}: nothing to learn rooms from")
    windows, _, before, held = timeline.held_out(df)
    starts = [w.test_start for w in windows.values() if w.evaluated]
    cutoff = min(starts) if starts else timeline.as_of + timedelta(days=1)
    train_df = df[before]
    if len(train_df) > MAX_ROOM_TRAIN_ROWS:
        train_df = train_df.sample(MAX_ROOM_TRAIN_ROWS, random_state=SEED)
    train_df = train_df.reset_index(drop=True)
    counts = df[before].groupby(["hotel", "room_type"]).size()
    hotel_types = {h: s.sort_values(ascending=False).index.get_level_values("room_type").tolist()
                   for h, s in counts.groupby(level="hotel")}  # by popularity: the baseline's order
    room_types = sorted(train_df["room_type"].unique())
    typical = df[before].groupby(["hotel", "room_type"])["budget"].median().dropna()
    typical_rate = {k: float(v) for k, v in typical.items()}
    categories = {"hotel": sorted(hotel_types), "segment": list(GUEST_SEGMENTS)}

    rng = np.random.default_rng(SEED)
    x_input = train_df.copy()
    x_input.loc[rng.random(len(x_input)) < 0.5, "budget"] = np.nan  # learn requests without a budget too
    model = RoomRecommender(None, room_types, hotel_types, typical_rate, categories, cutoff)
    # two room types are a binary problem to XGBoost (predict_proba has a column per type either way)
    objective = "multi:softprob" if len(room_types) > 2 else "binary:logistic"
    classifier = XGBClassifier(objective=objective, n_estimators=100, learning_rate=0.1, max_depth=5,
                               min_child_weight=3, subsample=0.9, colsample_bytree=1.0, tree_method="hist",
                               enable_categorical=True, n_jobs=NTHREAD, random_state=SEED,
                               eval_metric="mlogloss" if len(room_types) > 2 else "logloss")
    classifier.fit(model._matrix(x_input), pd.Categorical(train_df["room_type"], categories=room_types).codes)
    model.classifier = classifier
    training_seconds = time.perf_counter() - started

    # Held out: each evaluated hotel's held-out bookings (at most MAX_ROOM_TEST_ROWS_PER_HOTEL,
    # so a small hotel weighs in the group too) of room types the model knows.
    test = df[held & df["hotel"].isin(list(hotel_types)) & df["room_type"].isin(room_types)]
    test = (test.sample(frac=1, random_state=SEED).groupby("hotel").head(MAX_ROOM_TEST_ROWS_PER_HOTEL)
            .sort_index().reset_index(drop=True))
    cols = ["hotel", "adults", "children", "nights", "segment", "arrival_month", "budget"]
    test[["adults", "children", "nights"]] = test[["adults", "children", "nights"]].astype(float)
    with_budget = test[cols].copy()
    no_budget = with_budget.assign(budget=np.nan)
    # hotel, adults and nights are required; the example's last row leaves the rest out.
    shown = with_budget if len(with_budget) else df[cols].astype({c: float for c in ("adults", "children", "nights")})
    example = pd.concat([shown.head(4), shown.head(1)[["hotel", "adults", "nights"]]], ignore_index=True)
    truth = [{t} for t in test["room_type"]]

    def ranked_by(loaded, frame) -> list[list[str]]:
        if frame.empty:  # no hotel evaluated yet: nothing to rank
            return []
        out = loaded.predict(frame, params={"top_k": TOP_K})
        return [[r["room_type"] for r in json.loads(s)] for s in out["recommendations"]]

    ranked = ranked_by(model, no_budget)
    metrics = ranking_metrics(ranked, truth)
    with_budget_ranked = ranked_by(model, with_budget)
    with_b = ranking_metrics(with_budget_ranked, truth)
    metrics.update({f"{k}_with_budget": v for k, v in with_b.items()})
    popular = [hotel_types[h] for h in test["hotel"]]
    baseline = ranking_metrics(popular, truth)
    metrics["test_bookings"] = float(len(test))
    by_property = _by_property(_hotels(marts, timeline.as_of), windows, test["hotel"], ranked, truth, popular,
                               metrics, baseline, "no booking with a room type arrived by the as-of day")
    for i, hotel in enumerate(by_property["hotel"]):
        if by_property.at[i, "evaluated"] and hotel != GROUP:
            idx = np.flatnonzero((test["hotel"] == hotel).to_numpy())
            own = ranking_metrics([with_budget_ranked[j] for j in idx], [truth[j] for j in idx])
            by_property.loc[i, [f"{k}_with_budget" for k in own]] = list(own.values())
            by_property.loc[i, "test_bookings"] = float(len(idx))

    def score(loaded) -> float:
        return _hits(ranked_by(loaded, no_budget), truth, TOP_K)

    return Candidate(
        name="recommend_rooms", model=model, input_example=example, primary="hit_rate_at_5",
        higher_is_better=True, metrics=metrics, baseline=baseline, score=score,
        params={**timeline.params(), "cutoff": cutoff.isoformat(), "train_bookings": len(train_df),
                "room_types": len(room_types),
                "held_out": "; ".join(f"{w.hotel} from {w.test_start}" for w in windows.values()
                                      if w.evaluated)[:6000],
                "n_estimators": 100, "max_depth": 5, "baseline": "the hotel's most booked room types before the cutoff",
                "primary_without_budget": True, "training_seconds": round(training_seconds, 2)},
        figures={"rooms_hit_rate": _figure(metrics, baseline, "Rooms: model vs popularity (no budget)")},
        by_property=by_property,
    )
