"""Watch every site (issue 20): the scan of watched facilities for imagery that appeared since the analyst last
looked, its findings, the review of findings and the digest.

`site.scan_site` is the per-site work (fetch and compute, no registry access) that a local pool or a Dask
worker runs unchanged; `run.scan_watchlist` is the driver that reads the watchlist, hands out sites and alone
writes their results with per-site checkpoints; `review` turns a finding into an observation or dismisses it;
`digest` writes "what changed since you last looked" as HTML, Markdown and GeoJSON.
"""
