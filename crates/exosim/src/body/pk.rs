//! Non-compartmental pharmacokinetic figures.
