use crate::testing::*;
