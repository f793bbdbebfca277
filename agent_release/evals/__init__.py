"""Pre-prod evaluation suite and promotion gate (plain modules, no Dagster).

* :mod:`.lang` — stopword language identifier (en/es/fr/de/pt);
* :mod:`.golden` / :mod:`.golden_build` — golden set: scoring, proposals from traffic, baselines;
* :mod:`.judge` — optional LLM judge (OpenAI-compatible, failures are ``judge_error``);
* :mod:`.corpus`, :mod:`.detectors` — adversarial corpus and detectors;
* :mod:`.findings` — one findings table for corpus / garak / PyRIT, new high-severity failures;
* :mod:`.redteam` — run garak (optional ``redteam`` extra);
* :mod:`.scenarios` — scenario battery with pass@k / pass^k;
* :mod:`.runner` — async suite runners against any agent;
* :mod:`.latency` — p50/p95/p99 and cost per resolution across suites;
* :mod:`.gate`, :mod:`.report` — the four-criterion decision, Markdown and HTML reports;
* :mod:`.pipeline` — everything for one release spec in one call.

Importing this package imports nothing heavy; import the submodules you need.
"""
