"""``census_income`` source: UCI Census-Income (KDD) with the MMoE paper's task groups.

Get the data from the UCI repository (https://archive.ics.uci.edu/dataset/117/census+income+kdd):
``census-income.data`` (199,523 rows, ~100 MB) and ``census-income.test`` (99,762 rows, ~50 MB),
42 comma-separated columns, no header, values with a leading space, the label in the last column
(`` - 50000.`` / `` 50000+.``). Training uses ``.data``; the ``.test`` file is split in halves by
hash into validation and test, as in Ma et al. (KDD 2018). The instance-weight column is never an
input. Task groups: ``income`` (income > 50K + never married) and ``education`` (holds a college
degree + never married); the group's label columns are removed from the inputs.
"""

from __future__ import annotations

import os

from zoo.data.preprocessing import Preprocessor
from zoo.data.sources import DataBundle
from zoo.data.streaming import build_bundle
from zoo.data.tabular import file_source

COLUMNS = [
    "age", "class_of_worker", "detailed_industry_recode", "detailed_occupation_recode", "education",
    "wage_per_hour", "enroll_in_edu_inst_last_wk", "marital_stat", "major_industry_code",
    "major_occupation_code", "race", "hispanic_origin", "sex", "member_of_a_labor_union",
    "reason_for_unemployment", "full_or_part_time_employment_stat", "capital_gains", "capital_losses",
    "dividends_from_stocks", "tax_filer_stat", "region_of_previous_residence", "state_of_previous_residence",
    "detailed_household_and_family_stat", "detailed_household_summary_in_household", "instance_weight",
    "migration_code_change_in_msa", "migration_code_change_in_reg", "migration_code_move_within_reg",
    "live_in_this_house_1_year_ago", "migration_prev_res_in_sunbelt", "num_persons_worked_for_employer",
    "family_members_under_18", "country_of_birth_father", "country_of_birth_mother", "country_of_birth_self",
    "citizenship", "own_business_or_self_employed", "fill_inc_questionnaire_for_veterans_admin",
    "veterans_benefits", "weeks_worked_in_year", "year", "income",
]
NUMERIC = (
    "age", "wage_per_hour", "capital_gains", "capital_losses", "dividends_from_stocks",
    "num_persons_worked_for_employer", "weeks_worked_in_year",
)
COLLEGE_DEGREES = (
    "Associates degree-academic program", "Associates degree-occup /vocational", "Bachelors degree(BA AB BS)",
    "Masters degree(MA MS MEng MEd MSW MBA)", "Prof school degree (MD DDS DVM LLB JD)", "Doctorate degree(PhD EdD)",
)
NEVER_MARRIED = {"name": "never_married", "column": "marital_stat", "positive": "Never married"}
GROUPS = {
    "income": [{"name": "income", "column": "income", "positive": "50000+.", "negative": "- 50000."}, NEVER_MARRIED],
    "education": [{"name": "education", "column": "education", "positive": list(COLLEGE_DEGREES)}, NEVER_MARRIED],
}


def census_features(exclude=(), embedding_dim: int = 4) -> list[dict]:
    """Feature configs for every column except the instance weight and ``exclude``."""
    out = []
    for col in COLUMNS:
        if col in exclude or col == "instance_weight":
            continue
        if col in NUMERIC:
            out.append({"name": col, "kind": "dense"})
        else:
            out.append({"name": col, "kind": "categorical", "embedding_dim": embedding_dim})
    return out


def _files(path: str) -> tuple[str, str]:
    if os.path.isdir(path):
        return os.path.join(path, "census-income.data"), os.path.join(path, "census-income.test")
    base = path[: -len(".data")] if path.endswith(".data") else path
    return base + ".data", base + ".test"


def census_income_source(
    path: str,
    group: str = "income",
    seed: int = 0,
    min_count: int = 1,
    embedding_dim: int = 4,
    validation_fraction: float = 0.5,
    skip_bad_rows: bool = False,
    batch_rows: int = 65536,
    exclude: list[str] | None = None,
    shuffle_buffer: int = 10000,
) -> DataBundle:
    """Census-Income KDD: ``path`` is the folder holding both files (or the ``.data`` file)."""
    if group not in GROUPS:
        raise ValueError(f"census_income: group must be one of {', '.join(GROUPS)}, got {group!r}")
    tasks = [dict(t) for t in GROUPS[group]]
    removed = {t["column"] for t in tasks} | set(exclude or ())
    pre = Preprocessor(census_features(removed, embedding_dim), tasks, min_count=min_count)
    train_file, test_file = _files(path)
    opts = dict(columns=pre.columns, column_names=COLUMNS, null_values=("",), batch_rows=batch_rows,
                skip_bad_rows=skip_bad_rows)
    sources = {"train": file_source(train_file, **opts), "test": file_source(test_file, **opts)}
    plan = {
        "train": [("train", 0.0, 1.0)],
        "validation": [("test", 0.0, validation_fraction)],
        "test": [("test", validation_fraction, 1.0)],
    }
    return build_bundle(sources, plan, pre, seed=seed, skip_bad_rows=skip_bad_rows, shuffle_buffer=shuffle_buffer,
                        description=f"Census-Income KDD, task group {group!r}")
