package reliability

import _ "pgregory.net/rapid" // the model-based tests' engine
