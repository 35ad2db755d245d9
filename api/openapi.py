def build_spec(): return {}
