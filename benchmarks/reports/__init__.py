"""Report commands: each `python -m benchmarks.reports.<name>` measures one question and writes its JSON (and
figure, where there is one) under results/; docs/results/ holds what they printed on the machines named there."""
