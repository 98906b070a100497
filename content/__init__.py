"""The content store: models, migrations, workflow, review checks and rendering.

Nothing here imports the rest of Gongkai (dependencies point one way).
"""
