// The plugin contract lives with the other contracts; the kernel implements it.
export type { ComponentOptions, Plugin, PluginContext, Provider } from '../contracts/plugin';
