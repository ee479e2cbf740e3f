"""What the tool needs to run in GitOps pipelines beyond plan and apply themselves."""
