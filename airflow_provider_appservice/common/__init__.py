"""What operators and sensors share, in a neutral place (like the AWS provider's ``utils/``)."""
