// SPDX-License-Identifier: Apache-2.0
// The node agent: functions, their lifecycle, routing of inputs and outputs, status.
pub mod agent;
mod flow;
pub mod function;
pub mod lifecycle;
pub mod metrics;
pub mod metrics_http;
pub mod payload;
pub mod plan;
pub mod routing;
pub mod sensors;
mod start;
