// vkbind: the C half of package gpu. It opens the Vulkan loader at run time (dlopen), resolves
// the compute subset of the API through vkGetInstanceProcAddr/vkGetDeviceProcAddr, and offers a
// few coarse helpers so that Go crosses into C once per operation (one cgo call per dispatch).
//
// Every struct handed to Vulkan is built here in C memory; Go passes only plain values and
// pointers to C-typed memory that holds no Go pointers.
#ifndef VILT_VKBIND_H
#define VILT_VKBIND_H

#define VK_NO_PROTOTYPES 1
#include <stdint.h>
#include <vulkan/vulkan.h>

#define VR_MAX_BINDINGS 8

// Instance-level entry points.
typedef struct vr_instance {
	VkInstance instance;
	uint32_t api_version;
	VkDebugUtilsMessengerEXT messenger;
	PFN_vkGetInstanceProcAddr GetInstanceProcAddr;
	PFN_vkDestroyInstance DestroyInstance;
	PFN_vkEnumeratePhysicalDevices EnumeratePhysicalDevices;
	PFN_vkGetPhysicalDeviceProperties GetPhysicalDeviceProperties;
	PFN_vkGetPhysicalDeviceProperties2 GetPhysicalDeviceProperties2;
	PFN_vkGetPhysicalDeviceFeatures2 GetPhysicalDeviceFeatures2;
	PFN_vkGetPhysicalDeviceMemoryProperties GetPhysicalDeviceMemoryProperties;
	PFN_vkGetPhysicalDeviceFormatProperties GetPhysicalDeviceFormatProperties;
	PFN_vkGetPhysicalDeviceQueueFamilyProperties GetPhysicalDeviceQueueFamilyProperties;
	PFN_vkEnumerateDeviceExtensionProperties EnumerateDeviceExtensionProperties;
	PFN_vkCreateDevice CreateDevice;
	PFN_vkGetDeviceProcAddr GetDeviceProcAddr;
	PFN_vkCreateDebugUtilsMessengerEXT CreateDebugUtilsMessengerEXT;
	PFN_vkDestroyDebugUtilsMessengerEXT DestroyDebugUtilsMessengerEXT;
} vr_instance;

// Device-level entry points plus the handles a device needs.
typedef struct vr_device {
	VkDevice device;
	VkQueue queue;
	uint32_t queue_family;
	PFN_vkDestroyDevice DestroyDevice;
	PFN_vkGetDeviceQueue GetDeviceQueue;
	PFN_vkDeviceWaitIdle DeviceWaitIdle;
	PFN_vkAllocateMemory AllocateMemory;
	PFN_vkFreeMemory FreeMemory;
	PFN_vkMapMemory MapMemory;
	PFN_vkUnmapMemory UnmapMemory;
	PFN_vkFlushMappedMemoryRanges FlushMappedMemoryRanges;
	PFN_vkInvalidateMappedMemoryRanges InvalidateMappedMemoryRanges;
	PFN_vkCreateBuffer CreateBuffer;
	PFN_vkDestroyBuffer DestroyBuffer;
	PFN_vkGetBufferMemoryRequirements GetBufferMemoryRequirements;
	PFN_vkBindBufferMemory BindBufferMemory;
	PFN_vkCreateBufferView CreateBufferView;
	PFN_vkDestroyBufferView DestroyBufferView;
	PFN_vkCreateShaderModule CreateShaderModule;
	PFN_vkDestroyShaderModule DestroyShaderModule;
	PFN_vkCreateDescriptorSetLayout CreateDescriptorSetLayout;
	PFN_vkDestroyDescriptorSetLayout DestroyDescriptorSetLayout;
	PFN_vkCreatePipelineLayout CreatePipelineLayout;
	PFN_vkDestroyPipelineLayout DestroyPipelineLayout;
	PFN_vkCreateComputePipelines CreateComputePipelines;
	PFN_vkDestroyPipeline DestroyPipeline;
	PFN_vkCreatePipelineCache CreatePipelineCache;
	PFN_vkGetPipelineCacheData GetPipelineCacheData;
	PFN_vkDestroyPipelineCache DestroyPipelineCache;
	PFN_vkCreateDescriptorPool CreateDescriptorPool;
	PFN_vkDestroyDescriptorPool DestroyDescriptorPool;
	PFN_vkResetDescriptorPool ResetDescriptorPool;
	PFN_vkAllocateDescriptorSets AllocateDescriptorSets;
	PFN_vkUpdateDescriptorSets UpdateDescriptorSets;
	PFN_vkCreateCommandPool CreateCommandPool;
	PFN_vkDestroyCommandPool DestroyCommandPool;
	PFN_vkAllocateCommandBuffers AllocateCommandBuffers;
	PFN_vkFreeCommandBuffers FreeCommandBuffers;
	PFN_vkBeginCommandBuffer BeginCommandBuffer;
	PFN_vkEndCommandBuffer EndCommandBuffer;
	PFN_vkResetCommandBuffer ResetCommandBuffer;
	PFN_vkCmdBindPipeline CmdBindPipeline;
	PFN_vkCmdBindDescriptorSets CmdBindDescriptorSets;
	PFN_vkCmdPushConstants CmdPushConstants;
	PFN_vkCmdDispatch CmdDispatch;
	PFN_vkCmdPipelineBarrier CmdPipelineBarrier;
	PFN_vkCmdCopyBuffer CmdCopyBuffer;
	PFN_vkCmdFillBuffer CmdFillBuffer;
	PFN_vkCmdResetQueryPool CmdResetQueryPool;
	PFN_vkCmdWriteTimestamp CmdWriteTimestamp;
	PFN_vkCreateQueryPool CreateQueryPool;
	PFN_vkDestroyQueryPool DestroyQueryPool;
	PFN_vkGetQueryPoolResults GetQueryPoolResults;
	PFN_vkQueueSubmit QueueSubmit;
	PFN_vkQueueWaitIdle QueueWaitIdle;
	PFN_vkCreateFence CreateFence;
	PFN_vkDestroyFence DestroyFence;
	PFN_vkWaitForFences WaitForFences;
	PFN_vkResetFences ResetFences;
	PFN_vkGetFenceStatus GetFenceStatus;
} vr_device;

// Physical-device facts gathered in one call.
typedef struct vr_devinfo {
	VkPhysicalDeviceProperties props;
	VkPhysicalDeviceMemoryProperties mem;
	// Vulkan 1.1+
	uint32_t subgroup_size;
	uint32_t subgroup_stages;
	uint32_t subgroup_ops;
	uint8_t device_uuid[VK_UUID_SIZE];
	uint8_t driver_uuid[VK_UUID_SIZE];
	// Vulkan 1.2+ (or VK_KHR_driver_properties)
	uint32_t driver_id;
	char driver_name[VK_MAX_DRIVER_NAME_SIZE];
	char driver_info[VK_MAX_DRIVER_INFO_SIZE];
	// Vulkan 1.3 (or VK_EXT_subgroup_size_control)
	uint32_t min_subgroup_size, max_subgroup_size;
	uint32_t subgroup_size_control, compute_full_subgroups;
	uint32_t required_subgroup_size_stages;
	// features
	uint32_t shader_float16, shader_int8, storage_buffer16, storage_buffer8;
	uint32_t shader_int64;
	uint32_t texel_rgba16f; // R16G16B16A16_SFLOAT usable as a uniform texel buffer
	uint32_t has_coopmat_khr, has_coopmat_nv, has_portability_subset, has_subgroup_size_control_ext;
	// compute queue
	int32_t compute_family;
	uint32_t timestamp_valid_bits;
	uint32_t queue_count;
} vr_devinfo;

// One dispatch, described in C-typed memory filled by Go.
typedef struct vr_dispatch {
	VkPipeline pipeline;
	VkPipelineLayout layout;
	VkDescriptorSetLayout set_layout;
	VkDescriptorPool pool;
	uint32_t nbind;
	uint32_t types[VR_MAX_BINDINGS]; // VkDescriptorType
	VkBuffer buffers[VR_MAX_BINDINGS];
	VkDeviceSize offsets[VR_MAX_BINDINGS];
	VkDeviceSize ranges[VR_MAX_BINDINGS];
	VkBufferView views[VR_MAX_BINDINGS];
	uint32_t push_size;
	uint8_t push[256];
	uint32_t groups[3];
	uint32_t barrier; // emit a compute→compute memory barrier before the dispatch
	uint32_t bind_pipeline; // pipeline differs from the previous dispatch
	VkQueryPool query_pool; // VK_NULL_HANDLE: no timestamps
	uint32_t query; // first of two timestamp queries
} vr_dispatch;

const char *vr_open(const char *path);
int vr_library_loaded(void);

VkResult vr_instance_version(uint32_t *version);
VkResult vr_layer_available(const char *name, int *found);
VkResult vr_instance_ext_available(const char *name, int *found);
VkResult vr_create_instance(vr_instance *vi, uint32_t api_version, int validate, int portability,
			    int debug_utils, uintptr_t user_data);
void vr_destroy_instance(vr_instance *vi);
VkResult vr_enumerate_physical_devices(vr_instance *vi, uint32_t *count, VkPhysicalDevice *out);
VkResult vr_device_info(vr_instance *vi, VkPhysicalDevice pd, vr_devinfo *info);
VkResult vr_create_device(vr_instance *vi, VkPhysicalDevice pd, const vr_devinfo *info, vr_device *d);
void vr_destroy_device(vr_device *d);
void vr_destroy_device_wait(vr_device *d);

VkResult vr_create_buffer(vr_device *d, VkDeviceSize size, uint32_t mem_type, VkBuffer *buf,
			  VkDeviceMemory *mem, void **mapped);
VkResult vr_buffer_type_bits(vr_device *d, uint32_t *bits);
VkResult vr_flush(vr_device *d, VkDeviceMemory mem, VkDeviceSize off, VkDeviceSize size, int invalidate);
void vr_destroy_buffer(vr_device *d, VkBuffer buf, VkDeviceMemory mem, int mapped);
VkResult vr_create_buffer_view(vr_device *d, VkBuffer buf, VkFormat format, VkDeviceSize offset,
			       VkDeviceSize range, VkBufferView *view);
void vr_destroy_buffer_view(vr_device *d, VkBufferView view);

VkResult vr_create_kernel(vr_device *d, VkPipelineCache cache, const uint32_t *code, size_t code_size,
			  uint32_t nbind, const uint32_t *types, uint32_t push_size, uint32_t nspec,
			  const uint32_t *spec, uint32_t required_subgroup_size, VkShaderModule *module,
			  VkDescriptorSetLayout *set_layout, VkPipelineLayout *layout,
			  VkPipeline *pipeline);
void vr_destroy_kernel(vr_device *d, VkShaderModule module, VkDescriptorSetLayout set_layout,
		       VkPipelineLayout layout, VkPipeline pipeline);
VkResult vr_create_pipeline_cache(vr_device *d, const void *data, size_t size, VkPipelineCache *cache);
VkResult vr_pipeline_cache_data(vr_device *d, VkPipelineCache cache, size_t *size, void *data);
void vr_destroy_pipeline_cache(vr_device *d, VkPipelineCache cache);

VkResult vr_create_descriptor_pool(vr_device *d, uint32_t max_sets, uint32_t nstorage, uint32_t ntexel,
				   VkDescriptorPool *pool);
void vr_destroy_descriptor_pool(vr_device *d, VkDescriptorPool pool);

VkResult vr_create_command(vr_device *d, VkCommandPool *pool, VkCommandBuffer *cb, VkFence *fence);
void vr_destroy_command(vr_device *d, VkCommandPool pool, VkCommandBuffer cb, VkFence fence);
VkResult vr_begin(vr_device *d, VkCommandBuffer cb);
VkResult vr_end(vr_device *d, VkCommandBuffer cb);
VkResult vr_record_dispatch(vr_device *d, VkCommandBuffer cb, vr_dispatch *a);
void vr_record_barrier(vr_device *d, VkCommandBuffer cb, uint32_t src_stage, uint32_t src_access,
		       uint32_t dst_stage, uint32_t dst_access);
void vr_record_copy(vr_device *d, VkCommandBuffer cb, VkBuffer src, VkDeviceSize src_off, VkBuffer dst,
		    VkDeviceSize dst_off, VkDeviceSize size);
void vr_record_fill(vr_device *d, VkCommandBuffer cb, VkBuffer dst, VkDeviceSize off, VkDeviceSize size,
		    uint32_t value);
void vr_record_timestamp(vr_device *d, VkCommandBuffer cb, VkQueryPool pool, uint32_t query);
VkResult vr_submit(vr_device *d, VkCommandBuffer cb, VkFence fence);
VkResult vr_wait(vr_device *d, VkFence fence, uint64_t timeout_ns);

VkResult vr_create_query_pool(vr_device *d, uint32_t count, VkQueryPool *pool);
void vr_destroy_query_pool(vr_device *d, VkQueryPool pool);
VkResult vr_query_results(vr_device *d, VkQueryPool pool, uint32_t first, uint32_t count, uint64_t *out);
void vr_record_reset_queries(vr_device *d, VkCommandBuffer cb, VkQueryPool pool, uint32_t first,
			     uint32_t count);

void vr_memcpy(void *dst, const void *src, size_t n);

#endif
