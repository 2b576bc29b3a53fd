"""The WeChat platform: signatures and envelopes, the delivery ledger, the API client, pushes."""
