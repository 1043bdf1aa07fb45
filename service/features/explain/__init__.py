"""Why an answer: attributions (`:explain`, and the V2 `attributions` output)."""
