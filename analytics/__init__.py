"""Pure, vectorized learner analytics (numpy, scipy, scikit-learn only: no flask, sqlalchemy, redis or celery).

Functions here take flat arrays for many learners at once and return arrays or small dataclasses.
"""
