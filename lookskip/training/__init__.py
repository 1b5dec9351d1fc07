"""Training: labels → grid of independent (combination, fold) jobs → selection → refit.

The steps are plain functions with small JSON-serialisable inputs and outputs so the
same code runs locally (joblib) or as Celery tasks:

    plan = plan_training(labels_dir, grid, folds, holdout)      # plan.py, writes plan.json
    result = fit_and_score(plan["plan_path"], job_id)            # jobs.py, one per job
    report = select_and_refit(plan["plan_path"], results)        # select.py
    export_model(...)                                            # lookskip.model.export
"""
