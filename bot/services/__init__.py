"""The services' rules, over the models only: members, training, hand-off and what comes next."""
