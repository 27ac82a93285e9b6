"""Lightning training: profiles, specs, the LightningModule and the checkpoint cache."""
from .fit import Trained, TrainerOptions, load_trained, train
from .module import BNNClassifier, TrainingDiverged, build_network
from .profiles import PROFILES, EvalPlan, Profile, TrainPlan, get_profile
from .spec import TrainSpec

__all__ = ["BNNClassifier", "EvalPlan", "PROFILES", "Profile", "TrainPlan", "TrainSpec", "Trained",
           "TrainerOptions", "TrainingDiverged", "build_network", "get_profile", "load_trained", "train"]
