"""scikit-learn's acceptance suite on both estimators, with no expected
failures declared."""

from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from fastnn import MLPClassifier, MLPRegressor


@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_check_estimator_defaults_pass_everything():
    for est in (MLPClassifier(), MLPRegressor()):
        results = check_estimator(est, on_fail=None)
        failed = [r["check_name"] for r in results if r["status"] == "failed"]
        assert failed == []
