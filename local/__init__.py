"""The pipeline on an embedded AWS (moto): deploy the synthesized template, play Lambda's SQS poller, run a demo."""
