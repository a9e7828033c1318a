"""Real-time risk control (风控): rules, features, model, AML, watch lists and cases."""
