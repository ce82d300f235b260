// Package moodfood is the root of a Go library that keeps an intent
// classifier improving by itself.
//
// A food-recommendation backend classifies every user query ("I'm sad and
// it's raining, something warm?") into intents such as emotion_sad,
// weather_rainy and goal_comfort. When the classifier is unsure, the backend
// asks an LLM instead. This library closes the loop:
//
//   - package dataset logs every served query, exports the good labelled ones
//     (LLM answers, user-confirmed predictions), and merges and dedupes them
//     with the curated base set;
//   - package trigger decides when to retrain (30+ days, 50+ new samples, a
//     forced run, falling live accuracy, drift);
//   - package model trains a TF-IDF + linear classifier, evaluates it and
//     reads and writes its file format;
//   - package backup keeps versioned models, backs up, deploys atomically,
//     rolls back and prunes;
//   - package retrain wires them into one Retrainer run: train, check the
//     candidate against the deployed model on the same held-out data, deploy
//     or reject, keep a history and notify.
//
// The embedded default keeps everything as plain files under one root
// directory (see retrain.Open). No scheduler is built in: cron, or anything
// else, calls the example command examples/cmd/cronjob.
//
// This package has no code; import the packages above.
package moodfood
