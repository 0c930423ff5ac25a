"""The CDK app: configuration, constructs (one per capability) and the stack that composes them."""
